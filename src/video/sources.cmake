# The video module's sources, included from the top CMakeLists.txt after the
# argus library target exists. Camera sources are read with FFmpeg (Debian:
# libavformat-dev libavcodec-dev libswscale-dev libavutil-dev); V4L2 devices
# need libavdevice-dev too, and are refused with a clear error without it.
file(GLOB ARGUS_VIDEO_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/video/*.c)
target_sources(argus PRIVATE ${ARGUS_VIDEO_SRC})
find_package(PkgConfig REQUIRED)
pkg_check_modules(ARGUS_FFMPEG REQUIRED IMPORTED_TARGET
                  libavformat libavcodec libswscale libavutil)
target_link_libraries(argus PRIVATE PkgConfig::ARGUS_FFMPEG)
pkg_check_modules(ARGUS_AVDEVICE QUIET IMPORTED_TARGET libavdevice)
if(ARGUS_AVDEVICE_FOUND)
  target_link_libraries(argus PRIVATE PkgConfig::ARGUS_AVDEVICE)
  set_source_files_properties(${CMAKE_SOURCE_DIR}/src/video/camera.c
                              PROPERTIES COMPILE_DEFINITIONS ARGUS_HAVE_AVDEVICE=1)
else()
  message(STATUS "libavdevice not found: V4L2 cameras are not supported")
endif()

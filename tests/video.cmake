# The RTSP server the video tests stream from (tests/tools/rtsp_server.c), on
# GStreamer's RTSP server (Debian: libgstrtspserver-1.0-dev, plus
# gstreamer1.0-plugins-good at run time). Built only when it is found;
# test_video skips its RTSP part without it.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(ARGUS_GST_RTSP QUIET IMPORTED_TARGET
                    gstreamer-rtsp-server-1.0 gstreamer-app-1.0)
endif()
if(ARGUS_GST_RTSP_FOUND)
  add_executable(rtsp_server ${CMAKE_CURRENT_SOURCE_DIR}/tools/rtsp_server.c)
  # GLib's headers trip -Wshadow and friends; they are not ours.
  target_compile_options(rtsp_server PRIVATE -Wno-error)
  target_link_libraries(rtsp_server PRIVATE PkgConfig::ARGUS_GST_RTSP PkgConfig::ARGUS_FFMPEG)
  foreach(t test_video test_video_decode test_watch_e2e)
    if(TARGET ${t})
      add_dependencies(${t} rtsp_server)
      set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
                   "ARGUS_RTSP_SERVER=$<TARGET_FILE:rtsp_server>")
    endif()
  endforeach()
else()
  message(STATUS "gst-rtsp-server not found: the RTSP video tests will be skipped")
endif()

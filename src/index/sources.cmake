# The index module's sources, included from the top CMakeLists.txt after the
# argus library target exists. Kernels for each ISA are compiled with their
# own flags and only called after runtime CPU detection (kernels/kernels.c).
# The default approximate backend, the sketch index (SRP<bits>, sketch.c),
# needs nothing. FAISS backs the other approximate factory strings (HNSW,
# IVF, ...) when CMake finds it (Debian: libfaiss-dev, static, with OpenMP
# and BLAS/LAPACK); without it that backend is compiled out and
# argus_index_approx_available() returns 0.
file(GLOB ARGUS_INDEX_SRC CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/src/index/*.c
     ${CMAKE_SOURCE_DIR}/src/index/kernels/*.c
     ${CMAKE_SOURCE_DIR}/src/index/kernels/ref/*.c)
file(GLOB ARGUS_INDEX_AVX2_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/index/kernels/avx2/*.c)
file(GLOB ARGUS_INDEX_AVX512_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/index/kernels/avx512/*.c)
file(GLOB ARGUS_INDEX_VNNI_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/index/kernels/avx512vnni/*.c)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|i.86")
  set_source_files_properties(${ARGUS_INDEX_AVX2_SRC} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
  set_source_files_properties(${ARGUS_INDEX_AVX512_SRC} PROPERTIES COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512dq;-mavx512vl;-mavx2;-mfma;-mf16c")
  set_source_files_properties(${ARGUS_INDEX_VNNI_SRC} PROPERTIES COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512dq;-mavx512vl;-mavx512vnni;-mavx2;-mfma;-mf16c")
endif()
target_sources(argus PRIVATE ${ARGUS_INDEX_SRC} ${ARGUS_INDEX_AVX2_SRC}
               ${ARGUS_INDEX_AVX512_SRC} ${ARGUS_INDEX_VNNI_SRC})

option(ARGUS_FAISS "Build the FAISS approximate index backend (HNSW, IVF) when FAISS is found" ON)
set(ARGUS_HAVE_FAISS OFF)
if(ARGUS_FAISS)
  include(CheckLanguage)
  check_language(CXX)
  if(CMAKE_CXX_COMPILER)
    enable_language(CXX)
    set(CMAKE_CXX_STANDARD 17)
    find_package(OpenMP COMPONENTS CXX QUIET)
    if(OpenMP_CXX_FOUND)
      find_package(faiss CONFIG QUIET)
    endif()
    if(faiss_FOUND)
      set(ARGUS_HAVE_FAISS ON)
    endif()
  endif()
endif()
if(ARGUS_HAVE_FAISS)
  message(STATUS "argus index: approximate backend on FAISS ${faiss_VERSION}")
  target_sources(argus PRIVATE ${CMAKE_SOURCE_DIR}/src/index/faiss_shim.cpp)
  target_compile_definitions(argus PRIVATE ARGUS_HAVE_FAISS=1)
  target_link_libraries(argus PRIVATE faiss OpenMP::OpenMP_CXX)
else()
  message(STATUS "argus index: FAISS not found (or ARGUS_FAISS=OFF): FAISS backend compiled out (the sketch index remains)")
endif()

# SPDX-License-Identifier: Apache-2.0
# Every third-party library comes from a Debian 12 package (scripts/deps/*.txt lists them).
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(ZLIB REQUIRED)
find_package(BZip2 REQUIRED)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
find_library(XGBOOST_LIB xgboost REQUIRED)
find_path(XGBOOST_INCLUDE xgboost/c_api.h REQUIRED)

# Each is attached, privately where it can be, to the subsystem that uses it (CMakeLists.txt).

set(FRAGUA_HAVE_MPI OFF)
if(FRAGUA_MPI)
  find_package(MPI COMPONENTS CXX)
  if(MPI_CXX_FOUND)
    set(FRAGUA_HAVE_MPI ON)
  endif()
endif()

# HTTP(S) client for dataset downloads (fragua materials fetch); tests serve on 127.0.0.1.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

# corpus build configs (src/data/build_config.cpp)
find_package(yaml-cpp REQUIRED)

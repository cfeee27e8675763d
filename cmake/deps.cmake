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

add_library(fragua_deps INTERFACE)
target_link_libraries(fragua_deps INTERFACE Threads::Threads fmt::fmt nlohmann_json::nlohmann_json
  CLI11::CLI11 PkgConfig::UTF8PROC PkgConfig::ZSTD PkgConfig::XXHASH PkgConfig::PCRE2
  PkgConfig::OPENBLAS ZLIB::ZLIB BZip2::BZip2 ${XGBOOST_LIB})
target_include_directories(fragua_deps INTERFACE ${XGBOOST_INCLUDE})

if(FRAGUA_MPI)
  find_package(MPI COMPONENTS CXX)
  if(MPI_CXX_FOUND)
    target_link_libraries(fragua_deps INTERFACE MPI::MPI_CXX)
    target_compile_definitions(fragua_deps INTERFACE FRAGUA_HAVE_MPI=1)
  endif()
endif()

# HTTP(S) client for dataset downloads (fragua materials fetch); tests serve on 127.0.0.1.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
target_link_libraries(fragua_deps INTERFACE PkgConfig::HTTPLIB)

# corpus build configs (src/data/build_config.cpp)
find_package(yaml-cpp REQUIRED)
target_link_libraries(fragua_deps INTERFACE yaml-cpp)

# SPDX-License-Identifier: Apache-2.0
# Install, CMake package, pkg-config file and Debian package (README, "Install").
#   cmake --install build/release --prefix /opt/fragua
#     bin/fragua                          the CLI                       (component runtime)
#     share/fragua/                       the data it reads at run time (component runtime)
#     lib/libfragua_<subsystem>.a         the libraries                 (component development)
#     include/fragua/                     public headers                (component development)
#     lib/cmake/Fragua/                   find_package(Fragua) -> Fragua::fragua
#     lib/pkgconfig/fragua.pc             pkg-config --cflags --libs fragua
#   cpack -G DEB (in the build dir): fragua_<version>_<arch>.deb (runtime: its Depends are the
#     shared libraries the binary links, from dpkg-shlibdeps) and libfragua-dev (development).
# The installed binary finds its data under <prefix>/share/fragua (src/base/data_files.cpp).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS fragua_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/data/ DESTINATION ${CMAKE_INSTALL_DATADIR}/fragua COMPONENT runtime)
install(FILES ${CMAKE_SOURCE_DIR}/LICENSE ${CMAKE_SOURCE_DIR}/NOTICE
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/fragua COMPONENT runtime)

set(FRAGUA_EXPORTED_TARGETS fragua)
foreach(sub ${FRAGUA_SUBSYSTEMS})
  list(APPEND FRAGUA_EXPORTED_TARGETS fragua_${sub})
endforeach()
install(TARGETS ${FRAGUA_EXPORTED_TARGETS} EXPORT FraguaTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/fragua DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development)
install(EXPORT FraguaTargets NAMESPACE Fragua:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Fragua
  COMPONENT development)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/FraguaConfig.cmake.in
  ${CMAKE_BINARY_DIR}/package/FraguaConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Fragua)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/package/FraguaConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/package/FraguaConfig.cmake ${CMAKE_BINARY_DIR}/package/FraguaConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Fragua COMPONENT development)

# pkg-config: static libraries, so the link order matters: a library before those it uses.
set(FRAGUA_PC_LIBS "")
foreach(sub community materials train serve eval model data tokenize format backend tensor base)
  string(APPEND FRAGUA_PC_LIBS " -lfragua_${sub}")
endforeach()
set(FRAGUA_PC_MPI "")
if(FRAGUA_HAVE_MPI)
  set(FRAGUA_PC_MPI "ompi-cxx")
endif()
# The prefix is found from the .pc file's own place (${pcfiledir}, read by pkg-config and pkgconf),
# so that `cmake --install --prefix DIR` and the .deb's /usr both give the right paths.
file(RELATIVE_PATH FRAGUA_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" FRAGUA_PC_TO_PREFIX "${FRAGUA_PC_TO_PREFIX}")
# @ONLY: the .pc file's own ${...} variables stay as they are.
configure_file(${CMAKE_SOURCE_DIR}/cmake/fragua.pc.in ${CMAKE_BINARY_DIR}/package/fragua.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/package/fragua.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT development)

# Debian packages: `cpack -G DEB` in the build directory.
set(CPACK_PACKAGE_NAME fragua)
set(CPACK_PACKAGE_VENDOR "The Fragua authors")
set(CPACK_PACKAGE_CONTACT "The Fragua authors <fragua@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Generative AI for Spanish, Catalan/Valencian, Basque and Galician")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_LICENSE Apache-2.0)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME fragua)
# Runtime: exactly the shared libraries the binary links (dpkg-shlibdeps), nothing to build with.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libfragua-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
# What FraguaConfig.cmake and fragua.pc look for (Debian 12 names, scripts/deps/base.txt).
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS "libfmt-dev, nlohmann-json3-dev, libutf8proc-dev, libzstd-dev, \
libxxhash-dev, libpcre2-dev, libopenblas-dev, libcpp-httplib-dev, libyaml-cpp-dev, zlib1g-dev, libbz2-dev, \
libssl-dev, libxgboost-dev, pkg-config")
if(FRAGUA_HAVE_MPI)
  string(APPEND CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS ", libopenmpi-dev")
endif()
include(CPack)

# Packaging conventions for `cmake --install`: the daemon in bin/, the Lua
# module where Lua 5.4 looks for C modules, the default scripts and rules
# in share/moongate/, man pages, and the systemd unit.
include(GNUInstallDirs)

# Debian's lua5.4.pc names the C module directory (INSTALL_CMOD, absolute,
# under the .pc's prefix); it is installed at the same place relative to
# our prefix. Without it: lib/lua/5.4, Lua's default below its prefix.
find_package(PkgConfig QUIET)
set(_mg_cmod "")
if(PKG_CONFIG_FOUND)
  pkg_get_variable(_mg_cmod_abs lua5.4 INSTALL_CMOD)
  pkg_get_variable(_mg_lua_prefix lua5.4 prefix)
  if(_mg_cmod_abs AND _mg_lua_prefix)
    string(FIND "${_mg_cmod_abs}" "${_mg_lua_prefix}/" _at)
    if(_at EQUAL 0)
      string(LENGTH "${_mg_lua_prefix}/" _len)
      string(SUBSTRING "${_mg_cmod_abs}" ${_len} -1 _mg_cmod)
    endif()
  endif()
endif()
if(NOT _mg_cmod)
  set(_mg_cmod "${CMAKE_INSTALL_LIBDIR}/lua/5.4")
endif()
set(MG_INSTALL_CMOD "${_mg_cmod}" CACHE STRING
    "where the Lua module goes, relative to the prefix")

install(TARGETS moongate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS lmoongate LIBRARY DESTINATION ${MG_INSTALL_CMOD})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/scripts ${CMAKE_SOURCE_DIR}/rules
        DESTINATION ${CMAKE_INSTALL_DATADIR}/moongate FILES_MATCHING PATTERN "*.lua")
install(FILES ${CMAKE_SOURCE_DIR}/man/moongate.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_SOURCE_DIR}/man/moongate-lua.7 DESTINATION ${CMAKE_INSTALL_MANDIR}/man7)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        FILES_MATCHING PATTERN "*.md")

# The unit names /usr paths; an install under another prefix gets its own
# (the prefix is known only at install time: `cmake --install --prefix`).
install(CODE "
  file(READ \"${CMAKE_SOURCE_DIR}/packaging/moongate.service\" unit)
  string(REPLACE \"/usr/bin/moongate\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/moongate\" unit \"\${unit}\")
  string(REPLACE \"/usr/share/moongate\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/moongate\" unit \"\${unit}\")
  set(dest \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  file(MAKE_DIRECTORY \"\${dest}\")
  file(WRITE \"\${dest}/moongate.service\" \"\${unit}\")
  message(STATUS \"Installing: \${dest}/moongate.service\")
")

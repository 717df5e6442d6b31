# fanin_add_plugin(NAME SOURCES... [TEST test_file.c...])
#
# Builds NAME.so, a fanin plugin, as a MODULE in the current build folder: no "lib" prefix,
# hidden visibility and the version script that exports only fanin_plugin_entry, every symbol
# resolved at link time (-Wl,--no-undefined), the public headers (fanin::headers) and libm; it
# links no fanin library (the host hands it its services). The .so and its folder are made go-w
# after each build, as fanin refuses a plugin others could write. Each TEST file becomes a cmocka
# test executable (libfanin for <fanin/testing.h>, cmocka through pkg-config) registered with
# add_test, with PLUGIN_FILE defined to the plugin's path.
#
# Loaded by find_package(fanin); FANIN_PLUGIN_MAP names the version script.
include_guard(GLOBAL)

function(_fanin_add_plugin NAME)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "TEST")
  if(NOT ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "fanin_add_plugin(${NAME}): no source files")
  endif()
  if(NOT FANIN_PLUGIN_MAP)
    message(FATAL_ERROR "fanin_add_plugin: FANIN_PLUGIN_MAP is not set; call find_package(fanin)")
  endif()
  add_library(${NAME} MODULE ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${NAME} PRIVATE fanin::headers m)
  target_compile_features(${NAME} PRIVATE c_std_11)
  target_link_options(${NAME} PRIVATE "LINKER:--version-script=${FANIN_PLUGIN_MAP}"
    "LINKER:--no-undefined")
  set_target_properties(${NAME} PROPERTIES PREFIX "" SUFFIX ".so"
    C_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON POSITION_INDEPENDENT_CODE ON
    LINK_DEPENDS ${FANIN_PLUGIN_MAP} LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  # fanin refuses a plugin file or folder others could write; umask 002 makes both 775
  add_custom_command(TARGET ${NAME} POST_BUILD
    COMMAND chmod go-w $<TARGET_FILE:${NAME}> $<TARGET_FILE_DIR:${NAME}> VERBATIM)
  if(NOT ARG_TEST)
    return()
  endif()
  if(NOT TARGET PkgConfig::FANIN_CMOCKA)
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(FANIN_CMOCKA REQUIRED IMPORTED_TARGET GLOBAL cmocka)
  endif()
  foreach(src IN LISTS ARG_TEST)
    get_filename_component(test ${src} NAME_WE)
    add_executable(${test} ${src})
    target_link_libraries(${test} PRIVATE fanin::fanin PkgConfig::FANIN_CMOCKA m)
    target_compile_definitions(${test} PRIVATE PLUGIN_FILE="$<TARGET_FILE:${NAME}>")
    add_dependencies(${test} ${NAME})
    add_test(NAME ${test} COMMAND ${test})
  endforeach()
endfunction()

# A macro so that enable_testing() runs in the caller's directory (ctest reads the top one).
macro(fanin_add_plugin NAME)
  set(_fanin_add_plugin_args ${ARGN})
  if("TEST" IN_LIST _fanin_add_plugin_args)
    enable_testing()
  endif()
  _fanin_add_plugin(${NAME} ${ARGN})
endmacro()

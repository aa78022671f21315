# Runs at every build (the sugar_commit target in CMakeLists.txt): writes the git commit of the source
# tree into OUT as SUGAR_GIT_COMMIT, with "-dirty" when tracked files differ from it, and rewrites OUT
# only when that text changed. Taken at configure time instead, --version and every run.json went on
# naming the commit of the last `cmake` call after later commits were built: a frozen binary's runs
# pointed at code they did not run.
#   cmake -DSOURCE_DIR=<repository> -DOUT=<header> -P write_commit.cmake
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE status)
if(NOT status EQUAL 0 OR NOT commit)
  set(commit "unknown")  # not a git checkout (a tarball), or git is missing
else()
  execute_process(COMMAND git diff --quiet HEAD -- WORKING_DIRECTORY ${SOURCE_DIR}
    RESULT_VARIABLE changed OUTPUT_QUIET ERROR_QUIET)
  if(NOT changed EQUAL 0)
    string(APPEND commit "-dirty")
  endif()
endif()
set(text "// Written by cmake/write_commit.cmake at build time.\n#define SUGAR_GIT_COMMIT \"${commit}\"\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()

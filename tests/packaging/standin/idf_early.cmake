# ESP-IDF's first pass (requirement expansion) includes each component's
# CMakeLists.txt in script mode with CMAKE_BUILD_EARLY_EXPANSION set, and its
# idf_component_register() only records the arguments and returns.  So all
# that comes before the call must work in script mode (no project, no
# targets).  Run with cmake -DSMTP_SOURCE_DIR=... -DRECORD=file -P.
set(CMAKE_BUILD_EARLY_EXPANSION 1)
set(ESP_PLATFORM 1)
file(WRITE ${RECORD} "")
macro(idf_component_register)
    file(WRITE ${RECORD} "${ARGN}\n")
    return()
endmacro()
include(${SMTP_SOURCE_DIR}/CMakeLists.txt)

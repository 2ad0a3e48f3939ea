# VEIL_SANITIZE: compile and link every target with the named sanitizers. Undefined behaviour
# stops the program at the first report (-fno-sanitize-recover), so a test that triggers it fails.
# The environment that makes every other report fatal (halt_on_error, leak checking and the
# suppression file) is set by the Makefile's test target (scripts/sanitizer-env.sh).
if(VEIL_SANITIZE)
    set(veil_sanitize_flags -fsanitize=${VEIL_SANITIZE} -fno-omit-frame-pointer)
    if(VEIL_SANITIZE MATCHES "undefined")
        list(APPEND veil_sanitize_flags -fno-sanitize-recover=undefined)
    endif()
    add_compile_options(${veil_sanitize_flags})
    add_link_options(${veil_sanitize_flags})
endif()

if(VEIL_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "VEIL_FUZZ needs clang (libFuzzer): configure with CMAKE_CXX_COMPILER=clang++")
    endif()
    if(NOT VEIL_SANITIZE)
        message(FATAL_ERROR "VEIL_FUZZ needs VEIL_SANITIZE (e.g. address,undefined)")
    endif()
endif()

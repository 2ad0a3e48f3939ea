# veil_warnings(target): the project's warning set, errors when VEIL_WERROR is on.
function(veil_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                           -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
                           -Wformat=2)
    if(VEIL_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()

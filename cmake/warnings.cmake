# SPDX-License-Identifier: Apache-2.0
function(fragua_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter
    -Wno-missing-field-initializers)
  if(FRAGUA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

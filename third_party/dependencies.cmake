# Finds the external dependencies: OpenMP, pybind11 (from its pip package) and GoogleTest (from the
# system package). Nothing is vendored or downloaded; a missing dependency stops the configure step
# with one line saying what to install.
find_package(OpenMP)
if(NOT OpenMP_CXX_FOUND)
  message(FATAL_ERROR "dlcore needs OpenMP: install a compiler with OpenMP support (e.g. apt-get install g++ libgomp1)")
endif()

if(DLCORE_BUILD_PYTHON)
  find_package(Python 3.9 COMPONENTS Interpreter Development.Module REQUIRED)
  if(NOT pybind11_DIR)
    execute_process(COMMAND "${Python_EXECUTABLE}" -m pybind11 --cmakedir
      OUTPUT_VARIABLE _pybind11_dir OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _pybind11_rc)
    if(_pybind11_rc EQUAL 0)
      set(pybind11_DIR "${_pybind11_dir}")
    endif()
  endif()
  find_package(pybind11 3.0 CONFIG QUIET)
  if(NOT pybind11_FOUND)
    message(FATAL_ERROR "dlcore needs pybind11 >= 3.0 (smart_holder, for Python subclasses of Module): pip install 'pybind11>=3'")
  endif()
endif()

if(DLCORE_BUILD_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND)
    message(FATAL_ERROR "dlcore's C++ tests need GoogleTest: apt-get install libgtest-dev (or configure with -DDLCORE_BUILD_TESTS=OFF)")
  endif()
endif()

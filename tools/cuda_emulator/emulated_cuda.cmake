# DLCORE_CUDA=EMULATED: the CUDA backend built for the CPU emulator in this folder, so the CUDA
# tests run without a GPU. Each file of cuda/ is translated (launch syntax -> emu::launch) into
# ${CMAKE_BINARY_DIR}/emulated_cuda/ and the .cu files are compiled as C++20 with the emulator's
# cuda_runtime.h force-included. Sets DLCORE_CUDA_SOURCES and DLCORE_EMULATED_CUDA_OPTIONS.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
set(_emulator_dir ${CMAKE_CURRENT_LIST_DIR})
set(_translated_dir ${CMAKE_BINARY_DIR}/emulated_cuda)
file(GLOB _cuda_files CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/cuda/*)
set(DLCORE_CUDA_SOURCES ${_emulator_dir}/emulated_runtime.cpp)
foreach(_source ${_cuda_files})
  get_filename_component(_name ${_source} NAME)
  string(REGEX REPLACE "\\.cu$" ".cpp" _name ${_name})
  add_custom_command(
    OUTPUT ${_translated_dir}/${_name}
    COMMAND Python3::Interpreter ${_emulator_dir}/translate_launches.py ${_source} ${_translated_dir}/${_name}
    DEPENDS ${_source} ${_emulator_dir}/translate_launches.py
    COMMENT "Translating ${_name} for the CUDA emulator")
  list(APPEND DLCORE_CUDA_SOURCES ${_translated_dir}/${_name})
endforeach()
set_source_files_properties(${DLCORE_CUDA_SOURCES} PROPERTIES
  COMPILE_OPTIONS "-std=c++20;-include;${_emulator_dir}/cuda_runtime.h;-D__CUDACC__;-Wno-unused-parameter;-Wno-unknown-pragmas"
  INCLUDE_DIRECTORIES "${_emulator_dir};${_translated_dir};${CMAKE_SOURCE_DIR}/cuda")  # cuda/ for its relative includes

// Precompiled for every source of the mediasoup-worker target (build.sh adds
// it as the target's cpp_pch). Nearly every source includes these through
// Logger.hpp, which pulls in Settings.hpp, the channel and the generated
// FlatBuffers headers: parsing them is most of a small source's compile time
// (about 5 s of CPU each, 1 s with this), and the build is most of a clean
// install on 2 cores. Kept to headers whose meaning no source changes with a
// #define of its own first (Logger.hpp reads MS_CLASS where it is used, not
// here).
#include "common.hpp"
#include "Logger.hpp"
#include "MediaSoupErrors.hpp"
#include "Utils.hpp"
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

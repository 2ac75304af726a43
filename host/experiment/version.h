// tsgd's version and the git commit it was built from (manifest.json,
// --version). Defined in a source that the build regenerates at every build
// (cmake/git_version.cmake), so the commit is the one built, not the one
// configured; "-dirty" when tracked files had uncommitted changes, "unknown"
// outside a git checkout.
#pragma once

namespace tsgd {
const char* version();
const char* git_commit();
}  // namespace tsgd

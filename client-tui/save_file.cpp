#include "save_file.h"

#include "text_width.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace veil::tui {
namespace {

constexpr std::size_t kMaxNameBytes = 200;

Error exists_error(const std::filesystem::path& target) {
    return make_error(Errc::already_exists,
                      target.string() + " already exists; name another path: /save REF [N] PATH");
}

} // namespace

std::string safe_file_name(std::string_view sender_name) {
    std::size_t slash = sender_name.find_last_of("/\\");
    if (slash != std::string_view::npos)
        sender_name.remove_prefix(slash + 1);
    std::string out;
    for (std::size_t i = 0; i < sender_name.size();) {
        char32_t cp;
        std::size_t len = utf8_next(sender_name, i, cp);
        bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0);
        // Bidi controls would make "evil\u202Efdp.exe" read as another name.
        bool bidi = (cp >= 0x200E && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
                    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x061C;
        if (!control && !bidi && cp != 0xFFFD && out.size() + len <= kMaxNameBytes)
            out.append(sender_name.substr(i, len));
        i += len;
    }
    while (!out.empty() && (out.front() == '.' || out.front() == ' ' || out.front() == '-'))
        out.erase(out.begin());
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out.empty() ? std::string("attachment") : out;
}

std::filesystem::path save_target(const std::string& typed, const std::filesystem::path& cwd,
                                  const std::filesystem::path& home, const std::string& name) {
    if (typed.empty())
        return cwd / name;
    std::filesystem::path path;
    if (typed == "~" || typed.rfind("~/", 0) == 0)
        path = home / typed.substr(typed.size() > 1 ? 2 : 1);
    else
        path =
            std::filesystem::path(typed).is_absolute() ? std::filesystem::path(typed) : cwd / typed;
    std::error_code ec;
    if (typed.back() == '/' || typed == "~" || std::filesystem::is_directory(path, ec))
        return path / name;
    return path;
}

Status save_new_file(const std::filesystem::path& target,
                     const std::function<Status(const std::filesystem::path&)>& write) {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(target, ec)))
        return exists_error(target);
    std::filesystem::path folder = target.parent_path();
    if (folder.empty())
        folder = ".";
    if (!std::filesystem::is_directory(folder, ec))
        return make_error(Errc::not_found, "there is no folder " + folder.string());
    std::filesystem::path temp;
    for (int attempt = 0; attempt < 100; ++attempt) {
        temp = folder / (".veil-save-" + std::to_string(::getpid()) + "-" +
                         std::to_string(attempt) + ".part");
        if (!std::filesystem::exists(std::filesystem::symlink_status(temp, ec)))
            break;
    }
    Status written = write(temp);
    if (!written) {
        std::filesystem::remove(temp, ec);
        return written;
    }
    int linked = ::link(temp.c_str(), target.c_str());
    int why = errno;
    std::filesystem::remove(temp, ec);
    if (linked == 0)
        return {};
    if (why == EEXIST)
        return exists_error(target);
    return make_error(Errc::io, "cannot create " + target.string() + ": " + std::strerror(why));
}

} // namespace veil::tui

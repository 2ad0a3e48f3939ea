#include "save_file.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace veil;
using namespace veil::tui;
namespace fs = std::filesystem;

namespace {

// A fresh folder under the system's temporary folder, removed at the end of the test.
struct TempFolder {
    fs::path path;
    TempFolder() {
        path = fs::temp_directory_path() /
               ("veil-save-test-" + std::to_string(::getpid()) + "-" + std::to_string(++count()));
        fs::create_directories(path);
    }
    ~TempFolder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    static int& count() {
        static int n = 0;
        return n;
    }
};

std::string read_all(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

Status write_text(const fs::path& p, const std::string& text) {
    std::ofstream out(p);
    out << text;
    return {};
}

} // namespace

TEST_CASE("a sender's file name loses folders, controls, bidi marks and leading dots",
          "[save_file]") {
    CHECK(safe_file_name("report.pdf") == "report.pdf");
    CHECK(safe_file_name("../../.bashrc") == "bashrc");
    CHECK(safe_file_name("C:\\Users\\x\\evil.exe") == "evil.exe");
    CHECK(safe_file_name("a\x1b[2Jb\n.txt") == "a[2Jb.txt");
    CHECK(safe_file_name("invoice\xE2\x80\xAE"
                         "fdp.exe") == "invoicefdp.exe");
    CHECK(safe_file_name("") == "attachment");
    CHECK(safe_file_name("..") == "attachment");
    CHECK(safe_file_name("-rf") == "rf");
}

TEST_CASE("the save target is the folder's file, a typed folder's, or the typed file",
          "[save_file]") {
    TempFolder t;
    fs::create_directories(t.path / "sub");
    fs::path home = "/home/someone";
    CHECK(save_target("", t.path, home, "a.pdf") == t.path / "a.pdf");
    CHECK(save_target("sub", t.path, home, "a.pdf") == t.path / "sub" / "a.pdf");
    CHECK(save_target("new/", t.path, home, "a.pdf") == t.path / "new/" / "a.pdf");
    CHECK(save_target("b.pdf", t.path, home, "a.pdf") == t.path / "b.pdf");
    CHECK(save_target("/tmp/x.bin", t.path, home, "a.pdf") == fs::path("/tmp/x.bin"));
    CHECK(save_target("~/Downloads/c.pdf", t.path, home, "a.pdf") == home / "Downloads/c.pdf");
}

TEST_CASE("a file is saved under its name and never over an existing file", "[save_file]") {
    TempFolder t;
    fs::path target = t.path / "a.txt";
    REQUIRE(save_new_file(target, [](const fs::path& p) { return write_text(p, "one"); }));
    CHECK(read_all(target) == "one");

    Status again = save_new_file(target, [](const fs::path& p) { return write_text(p, "two"); });
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::already_exists);
    CHECK(read_all(target) == "one");
    // Nothing but the saved file is left behind.
    CHECK(std::distance(fs::directory_iterator(t.path), fs::directory_iterator()) == 1);
}

TEST_CASE("a file that appears while saving is not replaced", "[save_file]") {
    TempFolder t;
    fs::path target = t.path / "a.txt";
    Status st = save_new_file(target, [&](const fs::path& p) {
        (void)write_text(target, "theirs"); // someone else creates it meanwhile
        return write_text(p, "ours");
    });
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::already_exists);
    CHECK(read_all(target) == "theirs");
    CHECK(std::distance(fs::directory_iterator(t.path), fs::directory_iterator()) == 1);
}

TEST_CASE("a failed write leaves nothing behind and reports its error", "[save_file]") {
    TempFolder t;
    Status st = save_new_file(t.path / "a.txt", [](const fs::path& p) {
        (void)write_text(p, "partial");
        return Status(make_error(Errc::corrupt, "the digest does not match"));
    });
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::corrupt);
    CHECK(fs::is_empty(t.path));
}

TEST_CASE("saving into a folder that does not exist says so", "[save_file]") {
    TempFolder t;
    Status st = save_new_file(t.path / "none" / "a.txt",
                              [](const fs::path& p) { return write_text(p, "x"); });
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::not_found);
}

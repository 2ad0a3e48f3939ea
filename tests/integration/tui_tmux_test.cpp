// The interactive terminal app (issue 8) as a person uses it: the real `veil` binary in a tmux
// session of a fixed size, against a real relay on loopback, with a second account writing from
// the headless CLI. Keys go in with `tmux send-keys`; the screen comes back with
// `tmux capture-pane`; every wait is for text to appear, bounded by a deadline.
//
// tmux is required (scripts/install-deps.sh installs it): without it these tests fail, they
// never skip. Each test runs its own tmux server on its own socket (-L), so nothing else's
// sessions are touched. Set VEIL_SCREENS_DIR to keep the captured screens as text files.
#include "cli_harness.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <clocale>
#include <cstdlib>
#include <cwchar>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

// tmux as found on PATH (the test harness runs programs by their path), or "".
std::string tmux_path() {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t colon = dirs.find(':', start);
        std::string dir = dirs.substr(start, colon == std::string::npos ? colon : colon - start);
        auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / "tmux";
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate.string();
        if (colon == std::string::npos)
            break;
        start = colon + 1;
    }
    return {};
}

bool tmux_available() {
    if (tmux_path().empty())
        return false;
    auto r =
        veil::test::run({tmux_path(), "-V"}, {}, std::filesystem::temp_directory_path(), "tmux-v");
    return r.code == 0;
}

// One tmux server of our own with one session running the terminal app.
class TmuxApp {
public:
    // terminal: the TERM tmux gives the app (screen-256color: 256 colours, screen: 8).
    TmuxApp(const std::filesystem::path& dir, const Client& client, int cols, int rows,
            std::map<std::string, std::string> extra_env = {},
            const std::string& terminal = "screen-256color")
        : m_dir(dir) {
        static std::atomic<int> counter{0};
        m_socket = "veil-tui-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
        // A config of our own: no status bar (the pane is the whole window), 256 colours.
        std::ofstream(dir / "tmux.conf") << "set -g status off\n"
                                            "set -g default-terminal "
                                         << terminal
                                         << "\n"
                                            "set -g history-limit 0\n";
        std::vector<std::string> argv = {
            "new-session",       "-d", "-s", "veil", "-x", std::to_string(cols), "-y",
            std::to_string(rows)};
        std::map<std::string, std::string> env = {
            {"VEIL_PASSPHRASE", client.passphrase},
            {"HOME", dir.string()},
            {"XDG_CONFIG_HOME", (dir / "config").string()},
            {"LANG", "C.UTF-8"},
            {"LC_ALL", "C.UTF-8"},
            {"NO_COLOR", ""},
        };
        for (auto& [k, v] : extra_env)
            env[k] = v;
        for (const auto& [k, v] : env) {
            argv.push_back("-e");
            argv.push_back(k + "=" + v);
        }
        for (std::string a :
             {std::string(VEIL_CLI_BIN), std::string("--profile"), client.profile.string(),
              std::string("--relay"), client.relay, std::string("--open"), std::string("bob")})
            argv.push_back(a);
        auto r = tmux(argv);
        INFO(r.err);
        REQUIRE(r.code == 0);
        std::string path = tmux({"display-message", "-p", "#{socket_path}"}).out;
        m_socket_path = path.substr(0, path.find('\n'));
    }
    ~TmuxApp() {
        tmux({"kill-server"});
        // tmux leaves its socket file behind; it is ours, so it goes too.
        std::error_code ec;
        if (!m_socket_path.empty())
            std::filesystem::remove(m_socket_path, ec);
    }
    TmuxApp(const TmuxApp&) = delete;
    TmuxApp& operator=(const TmuxApp&) = delete;

    veil::test::Run tmux(std::vector<std::string> args) const {
        std::vector<std::string> argv = {tmux_path(), "-L", m_socket, "-f",
                                         (m_dir / "tmux.conf").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return veil::test::run(argv, {}, m_dir, "tmux", {}, std::chrono::seconds(10));
    }
    // The screen as text, one line a row (tmux trims trailing spaces); with_escapes keeps the
    // colours and attributes as escape sequences.
    std::string screen(bool with_escapes = false) const {
        std::vector<std::string> args = {"capture-pane", "-p", "-t", "veil"};
        if (with_escapes)
            args.push_back("-e");
        return tmux(args).out;
    }
    // Waits until the screen holds text; the last screen is shown if it never does.
    bool wait_for(const std::string& text, std::chrono::milliseconds timeout = 20s) const {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        std::string last;
        while (std::chrono::steady_clock::now() < deadline) {
            last = screen();
            if (last.find(text) != std::string::npos)
                return true;
            std::this_thread::sleep_for(50ms);
        }
        UNSCOPED_INFO("waited for \"" << text << "\"; the screen was:\n" << last);
        return false;
    }
    bool wait_until_gone(const std::string& text, std::chrono::milliseconds timeout = 20s) const {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (screen().find(text) == std::string::npos)
                return true;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }
    void type(const std::string& text) const {
        REQUIRE(tmux({"send-keys", "-t", "veil", "-l", text}).code == 0);
    }
    void key(const std::string& name) const {
        REQUIRE(tmux({"send-keys", "-t", "veil", name}).code == 0);
    }
    void enter(const std::string& text) const {
        type(text);
        key("Enter");
    }
    void resize(int cols, int rows) const {
        REQUIRE(tmux({"resize-window", "-t", "veil", "-x", std::to_string(cols), "-y",
                      std::to_string(rows)})
                    .code == 0);
    }
    // The terminal cursor: column and row.
    std::pair<int, int> cursor() const {
        std::string out =
            tmux({"display-message", "-p", "-t", "veil", "#{cursor_x} #{cursor_y}"}).out;
        std::istringstream in(out);
        int x = -1, y = -1;
        in >> x >> y;
        return {x, y};
    }
    // Keeps the screen as docs material when VEIL_SCREENS_DIR is set.
    void keep(const std::string& name) const {
        const char* dir = std::getenv("VEIL_SCREENS_DIR");
        if (!dir || !*dir)
            return;
        std::ofstream(std::filesystem::path(dir) / (name + ".txt")) << screen();
    }

private:
    std::filesystem::path m_dir;
    std::string m_socket;
    std::filesystem::path m_socket_path;
};

// Display width of UTF-8 text in cells, as wcwidth(3) counts it.
int cells(const std::string& text) {
    std::setlocale(LC_CTYPE, "C.UTF-8");
    std::mbstate_t state{};
    const char* p = text.data();
    const char* end = p + text.size();
    int width = 0;
    while (p < end) {
        wchar_t wc;
        std::size_t n = std::mbrtowc(&wc, p, static_cast<std::size_t>(end - p), &state);
        if (n == 0 || n > static_cast<std::size_t>(end - p))
            return -1;
        int w = ::wcwidth(wc);
        width += w < 0 ? 1 : w;
        p += n;
    }
    return width;
}

std::vector<std::string> lines_of(const std::string& screen) {
    std::vector<std::string> lines;
    std::istringstream in(screen);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// The row of the screen holding text, or "".
std::string row_with(const std::string& screen, const std::string& text) {
    for (const auto& line : lines_of(screen))
        if (line.find(text) != std::string::npos)
            return line;
    return {};
}

} // namespace

TEST_CASE("tmux is installed, so the terminal app's screen tests run") {
    if (!tmux_available())
        FAIL("tmux is missing: scripts/install-deps.sh installs it; the screen tests need it");
}

TEST_CASE("in a real terminal the app opens a conversation, sends, receives and survives "
          "resizes") {
    REQUIRE(tmux_available());
    TempDir dir("veil-tui-tmux");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    REQUIRE(bob.run({"send", "alice", "Ferry at noon from pier 3?"}).code == 0);

    TmuxApp app(dir.path(), alice, 100, 30);
    REQUIRE(app.wait_for("Ferry at noon from pier 3? #1"));
    REQUIRE(app.wait_for("online"));
    app.enter("Yes, see you at the pier");
    REQUIRE(app.wait_for("alice: Yes, see you at the pier"));
    auto got = bob.run({"receive"});
    CHECK(got.out.find("Yes, see you at the pier") != std::string::npos);

    // A message while the app is open appears without a key being pressed.
    REQUIRE(bob.run({"send", "alice", "Great, bring the tickets"}).code == 0);
    REQUIRE(app.wait_for("bob  : Great, bring the tickets"));
    // Colours come from the terminal (256 here): the peer's name is drawn in one of them.
    CHECK(app.screen(true).find("38;5;38m") != std::string::npos);
    app.keep("conversation-100x30");

    // Small: the conversation list gives way, the messages wrap, the input stays at the bottom.
    app.resize(50, 16);
    REQUIRE(app.wait_until_gone("Conversations"));
    auto small = lines_of(app.screen());
    CHECK(small.size() == 16);
    for (const auto& line : small)
        CHECK(cells(line) <= 50);
    CHECK(small.back().rfind("bob>", 0) == 0);
    app.keep("conversation-50x16");

    // Very wide: the messages wrap at a readable width instead of running across 300 columns.
    app.resize(300, 30);
    REQUIRE(app.wait_for("Conversations"));
    REQUIRE(
        bob.run({"send", "alice",
                 std::string(60, 'x') + " " + std::string(60, 'y') + " " + std::string(60, 'z')})
            .code == 0);
    REQUIRE(app.wait_for(std::string(60, 'z')));
    auto wide = app.screen();
    CHECK(row_with(wide, std::string(60, 'x')).find(std::string(60, 'y')) == std::string::npos);
    for (const auto& line : lines_of(wide))
        CHECK(cells(line) <= 300);
    app.keep("conversation-300x30");

    app.resize(80, 24);
    REQUIRE(app.wait_for("Conversations"));
    app.key("C-q");
    CHECK(app.wait_until_gone("Conversations", 10s));
}

TEST_CASE("in a real terminal vi mode edits the line and /find searches the scrollback") {
    REQUIRE(tmux_available());
    TempDir dir("veil-tui-tmux");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    for (int i = 1; i <= 14; ++i)
        REQUIRE(bob.run({"send", "alice",
                         i == 3 ? std::string("the quokka photo is ready")
                                : "note number " + std::to_string(i)})
                    .code == 0);
    std::filesystem::create_directories(dir.path() / "config" / "veil");
    std::ofstream(dir.path() / "config" / "veil" / "keys.conf")
        << "# test bindings\nbind C-t scroll-bottom\nbind C-x frobnicate\n";

    TmuxApp app(dir.path(), alice, 80, 12, {}, "screen");
    REQUIRE(app.wait_for("note number 14"));
    // An 8-colour terminal gets the basic colours: the peer's name in cyan, nothing from the
    // 256-colour palette.
    CHECK(app.screen(true).find("\x1b[36m") != std::string::npos);
    CHECK(app.screen(true).find("38;5;") == std::string::npos);
    // The bad line of keys.conf is named with its number; the app runs on.
    REQUIRE(app.wait_for("keys.conf line 3: unknown action 'frobnicate'"));
    CHECK(app.screen().find("quokka") == std::string::npos); // scrolled out of the 9 rows

    app.enter("/find quokka");
    REQUIRE(app.wait_for("the quokka photo is ready"));
    REQUIRE(app.wait_for("find \xE2\x80\x9C"
                         "quokka\xE2\x80\x9D 1/1"));
    CHECK(app.screen(true).find("quokka") != std::string::npos);
    app.keep("find-quokka-80x12");
    app.key("Escape");
    REQUIRE(app.wait_until_gone("the quokka photo is ready"));
    REQUIRE(app.wait_for("note number 14"));

    app.enter("/set editing vi");
    REQUIRE(app.wait_for("-- INSERT --"));
    app.type("send the photo now");
    app.key("Escape");
    REQUIRE(app.wait_for("-- NORMAL --"));
    app.type("0dw");
    REQUIRE(app.wait_for("bob> the photo now"));
    app.type("wcwvideo");
    app.key("Escape");
    REQUIRE(app.wait_for("bob> the video now"));
    REQUIRE(app.wait_for("-- NORMAL --")); // cw left insert mode on; Esc ends it again
    app.keep("vi-normal-80x12");
    app.type("A!");
    app.key("Enter");
    REQUIRE(app.wait_for("alice: the video now!"));
    auto got = bob.run({"receive"});
    CHECK(got.out.find("the video now!") != std::string::npos);

    // Tab completes commands and names.
    app.type("/op");
    app.key("Tab");
    app.type("b");
    app.key("Tab");
    REQUIRE(app.wait_for("bob> /open bob"));
}

TEST_CASE("in a real terminal received escapes, bidi overrides, CJK and joined emoji stay inert "
          "and aligned") {
    REQUIRE(tmux_available());
    TempDir dir("veil-tui-tmux");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    REQUIRE(
        bob.run({"send", "alice", "\x1b[2J\x1b[H\x1b]0;owned\x07\x1b]52;c;aGk=\x07 clear"}).code ==
        0);
    REQUIRE(bob.run({"send", "alice",
                     "\r\b\xC2\x9B"
                     "31m over"})
                .code == 0);
    REQUIRE(bob.run({"send", "alice",
                     "abc \xE2\x80\xAE"
                     "gnp.exe\xE2\x80\xAC done"})
                .code == 0);
    REQUIRE(
        bob.run({"send", "alice", "\xE4\xB8\x96\xE7\x95\x8C\xE4\xBD\xA0\xE5\xA5\xBD end"}).code ==
        0);
    REQUIRE(bob.run({"send", "alice",
                     "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB \xF0\x9F\x87"
                     "\xAB\xF0\x9F\x87\xB7 e\xCC\x81 end"})
                .code == 0);

    TmuxApp app(dir.path(), alice, 90, 24, {{"NO_COLOR", "1"}});
    REQUIRE(app.wait_for("end #5"));
    std::string screen = app.screen();
    // Shown as text, not obeyed: the screen was not cleared, no title or clipboard was set.
    CHECK(screen.find("\\x1b[2J\\x1b[H\\x1b]0;owned\\x07") != std::string::npos);
    CHECK(screen.find("\\x0d\\x08<U+009B>31m over") != std::string::npos);
    CHECK(screen.find("abc <U+202E>gnp.exe<U+202C> done") != std::string::npos);
    // The sender's name and time start each of those rows: nothing overwrote them.
    for (const char* text : {"clear #1", "over #2", "done #3"})
        CHECK(row_with(screen, text).find("bob  : ") != std::string::npos);
    // Wide and joined characters: the reference after them sits where the widths say.
    std::string cjk = row_with(screen, "end #4");
    std::size_t pane = cjk.find("\xE2\x94\x82"); // the list's divider
    REQUIRE(pane != std::string::npos);
    CHECK(cells(cjk) <= 90);
    for (const auto& line : lines_of(screen))
        CHECK(cells(line) <= 90);
    // NO_COLOR: attributes only, no colour at all.
    std::string escapes = app.screen(true);
    CHECK(escapes.find("38;5;") == std::string::npos);
    for (const char* colour : {"[31m", "[32m", "[33m", "[34m", "[35m", "[36m"})
        CHECK(escapes.find(colour) == std::string::npos);
    app.keep("unicode-and-escapes-90x24");

    // Typing a joined emoji, a flag and CJK: the cursor lands where the widths say, and the
    // joiner reaches bob inside the encryption.
    app.type("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7"
             "\xE4\xB8\x96!");
    REQUIRE(app.wait_for("bob> \xF0\x9F\x91\xA9"));
    REQUIRE(app.wait_for("\xE4\xB8\x96!"));
    // "bob> " 5, the joined emoji 4 (two pictures of two, as curses places them), the flag 2,
    // the CJK character 2, "!" 1: the cursor settles there and nowhere else.
    auto expected = std::make_pair(5 + 4 + 2 + 2 + 1, 23);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (app.cursor() != expected && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(50ms);
    CHECK(app.cursor() == expected);
    app.key("Enter");
    REQUIRE(app.wait_for("\xE4\xB8\x96! "));
    auto got = bob.run({"receive"});
    CHECK(got.out.find("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB\xF0\x9F\x87\xAB\xF0\x9F\x87"
                       "\xB7\xE4\xB8\x96!") != std::string::npos);
}

TEST_CASE("in a real terminal the mouse wheel scrolls and a click opens a conversation, once "
          "/set mouse on") {
    REQUIRE(tmux_available());
    TempDir dir("veil-tui-tmux");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client carol = make_client(dir.path(), relay.url(), "carol");
    for (int i = 1; i <= 12; ++i)
        REQUIRE(bob.run({"send", "alice", "note " + std::to_string(i)}).code == 0);
    REQUIRE(carol.run({"send", "alice", "hi from carol"}).code == 0);

    TmuxApp app(dir.path(), alice, 80, 12, {}, "screen");
    REQUIRE(app.wait_for("note 12 #12"));
    // What the terminal sends for the mouse (xterm's X10 form, as TERM=screen announces it):
    // Esc [ M, the button + 32, the column + 33, the row + 33.
    auto mouse = [](int button, int col, int row) {
        return std::string("\x1b[M") + static_cast<char>(button + 32) +
               static_cast<char>(col + 33) + static_cast<char>(row + 33);
    };
    // Until /set mouse on the app asks the terminal for no mouse reports, so none are sent.
    const std::string wheel_up = mouse(64, 40, 5);
    app.enter("/set mouse on");
    REQUIRE(app.wait_for("mouse on: the wheel scrolls")); // the notice, not the line typed
    app.type(wheel_up);
    REQUIRE(app.wait_for("newer below"));
    app.keep("mouse-wheel-80x12");

    std::string carol_row = row_with(app.screen(), "carol");
    REQUIRE_FALSE(carol_row.empty());
    auto rows = lines_of(app.screen());
    int row = static_cast<int>(std::find(rows.begin(), rows.end(), carol_row) - rows.begin());
    app.type(mouse(0, 3, row) + mouse(3, 3, row)); // press and release on carol's row
    REQUIRE(app.wait_for("carol: hi from carol"));
    REQUIRE(app.wait_for("\xE2\x96\xB8 carol")); // ▸ marks the open conversation
}

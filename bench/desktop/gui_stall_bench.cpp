// The desktop app's longest GUI event-loop stall while it receives N messages from a live relay
// (issue 7: "the UI never blocks"). Not a test: it prints one JSON line and a Markdown row.
//
// A veil-relay on a free loopback port; alice (a bare ClientSession on this thread) queues N
// messages for bob while bob is offline and stops once the relay has them all. Then bob's
// SessionBridge and MainWindow open, start and catch up, as the app does after a night offline.
// A 5 ms QTimer on the GUI thread records the gaps between its ticks from bob's start() until
// bob's window has been told of all N messages; the longest gap is the stall a person feels.
//
// The same source builds against main's SessionBridge (the engine on the GUI thread) and the
// desk-thread one (the engine on a worker), so "before" and "after" run the same workload.
//
// Usage: veil-bench-desktop-stall [N] (default 200), with QT_QPA_PLATFORM=offscreen.
#include "main_window.h"
#include "qt/client_session.h"
#include "session_bridge.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <regex>
#include <string>
#include <vector>

namespace {

using namespace veil;

// Runs the event loop until done() or timeout_ms; returns done().
bool wait_until(const std::function<bool()>& done, int timeout_ms) {
    QElapsedTimer timer;
    timer.start();
    while (!done() && timer.elapsed() < timeout_ms)
        QApplication::processEvents(QEventLoop::AllEvents, 20);
    return done();
}

void fail(const char* what) {
    std::fprintf(stderr, "gui_stall_bench: %s\n", what);
    std::exit(1);
}

// alice's engine reports here; only its state and its settled queue matter.
struct SenderObserver : engine::EngineObserver {
    engine::State state = engine::State::offline;
    int settled = 0;
    void on_state(engine::State s) override { state = s; }
    void on_settled() override { ++settled; }
};

std::string start_relay(test::Process& relay) {
    if (!relay.wait_for_output("listening on", std::chrono::seconds(20)))
        fail("the relay did not start");
    std::smatch m;
    std::string out = relay.out();
    if (!std::regex_search(out, m, std::regex(R"(listening on ([0-9.]+:[0-9]+))")))
        fail("the relay did not say where it listens");
    return "ws://" + m[1].str();
}

// bob registers once, then goes offline.
void register_bob(const std::filesystem::path& dir, const std::string& url) {
    desktop::SessionBridge bob;
    if (!bob.create_profile(dir, SecretBytes::from_string("bob pass"), "bob", url))
        fail("bob's profile could not be created");
    if (!bob.start())
        fail("bob could not start");
    if (!wait_until([&] { return bob.state() == engine::State::ready; }, 20'000))
        fail("bob did not register");
    bob.close();
}

// alice queues n messages for the offline bob and waits until the relay holds every one.
void queue_for_bob(const std::filesystem::path& dir, const std::string& url, int n) {
    SenderObserver observer;
    auto alice = qt::ClientSession::create(dir, SecretBytes::from_string("alice pass"), "alice",
                                           url, observer);
    if (!alice)
        fail("alice's profile could not be created");
    auto& engine = alice.value()->engine();
    if (!engine.start())
        fail("alice could not start");
    if (!wait_until([&] { return observer.state == engine::State::ready; }, 20'000))
        fail("alice did not register");
    for (int i = 0; i < n; ++i)
        if (!engine.send_text("bob", "message " + std::to_string(i) + " of the night"))
            fail("alice could not send");
    int settled = observer.settled;
    if (!wait_until([&] { return observer.settled > settled; }, 120'000))
        fail("the relay did not take alice's messages");
    engine.stop();
}

} // namespace

int main(int argc, char** argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 200;
    if (n <= 0)
        fail("N must be positive");
    if (!std::getenv("QT_QPA_PLATFORM"))
        ::setenv("QT_QPA_PLATFORM", "offscreen", 1);
    QApplication app(argc, argv);
    test::TempDir dir{"veil-gui-stall"};
    test::Process relay(
        {VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data", (dir.path() / "relay").string()}, {},
        dir.path(), "relay");
    std::string url = start_relay(relay);
    register_bob(dir.path() / "bob", url);
    queue_for_bob(dir.path() / "alice", url, n);

    desktop::SessionBridge bridge;
    if (!bridge.open_profile(dir.path() / "bob", SecretBytes::from_string("bob pass"), ""))
        fail("bob's profile did not open");
    desktop::MainWindow window(bridge);
    int received = 0;
    QObject::connect(&bridge, &desktop::SessionBridge::messageAdded,
                     [&](const store::MessageRow& row) { received += row.sender == "alice"; });

    std::vector<qint64> gaps;
    QElapsedTimer clock;
    qint64 last = 0;
    QTimer ticker;
    ticker.setInterval(5);
    ticker.setTimerType(Qt::PreciseTimer);
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        qint64 now = clock.nsecsElapsed();
        gaps.push_back(now - last);
        last = now;
    });
    clock.start();
    ticker.start();
    if (!bridge.start())
        fail("bob could not start");
    bool all = wait_until([&] { return received >= n; }, 300'000);
    double total_ms = static_cast<double>(clock.nsecsElapsed()) / 1e6;
    ticker.stop();
    gaps.push_back(clock.nsecsElapsed() - last);
    if (!all)
        fail("bob did not receive every message");

    std::sort(gaps.begin(), gaps.end());
    auto ms = [](qint64 ns) { return static_cast<double>(ns) / 1e6; };
    double max_gap = ms(gaps.back());
    double p99_gap = ms(gaps[gaps.size() * 99 / 100]);
    std::printf("{\"workload\":\"desktop_gui_stall\",\"messages\":%d,\"max_gap_ms\":%.1f,"
                "\"p99_gap_ms\":%.1f,\"ticks\":%zu,\"catch_up_ms\":%.0f}\n",
                n, max_gap, p99_gap, gaps.size(), total_ms);
    std::printf(
        "| desktop GUI stall | %d messages | max %.1f ms | p99 %.1f ms | catch-up %.0f ms |\n", n,
        max_gap, p99_gap, total_ms);
    std::fflush(stdout);
    bridge.close();
    relay.signal(SIGTERM);
    relay.wait(std::chrono::seconds(10));
    return 0;
}

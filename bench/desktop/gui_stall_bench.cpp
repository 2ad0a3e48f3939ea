// The desktop app's longest GUI event-loop stalls (issue 7: "the UI never blocks"). Not a test:
// it prints one JSON line and a Markdown row.
//
// A veil-relay on a free loopback port; alice (a bare ClientSession on this thread) queues N
// messages for bob while bob is offline and stops once the relay has them all. Then three
// phases, each measured by a 5 ms QTimer on the GUI thread that records the gaps between its
// ticks; the longest gap of a phase is the stall a person feels there:
//  - catch-up: bob's SessionBridge and MainWindow open, start and catch up, as the app does
//    after a night offline, from bob's start() until the window was told of all N messages;
//  - open: with bob's window up, another conversation and then alice's (N messages) are
//    opened, until the message list shows them all;
//  - remembered start: bob's profile is closed and opened again through the start dialog's
//    "Remember on this computer" path (a keyring in memory holding its key), until the dialog
//    is accepted and the main window is built.
//
// The same source builds against main's SessionBridge (reads on the GUI thread, a remembered
// start that waits in local event loops) and the desk-async one (reads on a reader thread, a
// remembered start driven by callbacks), so "before" and "after" run the same workload.
//
// Usage: veil-bench-desktop-stall [N] (default 200), with QT_QPA_PLATFORM=offscreen.
#include "app_settings.h"
#include "client-desktop/fake_keyring.h"
#include "keyring.h"
#include "main_window.h"
#include "qt/client_session.h"
#include "session_bridge.h"
#include "start_dialog.h"
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

// Records the gaps between the ticks of a 5 ms timer on the GUI thread while it lives.
class StallMeter {
public:
    StallMeter() {
        m_ticker.setInterval(5);
        m_ticker.setTimerType(Qt::PreciseTimer);
        QObject::connect(&m_ticker, &QTimer::timeout, [this] { tick(); });
        m_clock.start();
        m_ticker.start();
    }
    // Stops and returns the longest gap and the 99th percentile, in ms.
    std::pair<double, double> stop() {
        m_ticker.stop();
        tick();
        std::sort(m_gaps.begin(), m_gaps.end());
        auto ms = [](qint64 ns) { return static_cast<double>(ns) / 1e6; };
        return {ms(m_gaps.back()), ms(m_gaps[m_gaps.size() * 99 / 100])};
    }
    double elapsed_ms() const { return static_cast<double>(m_clock.nsecsElapsed()) / 1e6; }
    std::size_t ticks() const { return m_gaps.size(); }

private:
    void tick() {
        qint64 now = m_clock.nsecsElapsed();
        m_gaps.push_back(now - m_last);
        m_last = now;
    }
    QTimer m_ticker;
    QElapsedTimer m_clock;
    qint64 m_last = 0;
    std::vector<qint64> m_gaps;
};

} // namespace

int main(int argc, char** argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 200;
    if (n <= 0)
        fail("N must be positive");
    if (!std::getenv("QT_QPA_PLATFORM"))
        ::setenv("QT_QPA_PLATFORM", "offscreen", 1);
    QApplication app(argc, argv);
    test::TempDir dir{"veil-gui-stall"};
    // The start dialog remembers which profiles have a key in the keyring: in this run's file.
    desktop::use_settings_file(QString::fromStdString((dir.path() / "veil.ini").string()));
    test::Process relay(
        {VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data", (dir.path() / "relay").string()}, {},
        dir.path(), "relay");
    std::string url = start_relay(relay);
    register_bob(dir.path() / "bob", url);
    queue_for_bob(dir.path() / "alice", url, n);

    // Catch-up.
    auto bridge = std::make_unique<desktop::SessionBridge>();
    if (!bridge->open_profile(dir.path() / "bob", SecretBytes::from_string("bob pass"), ""))
        fail("bob's profile did not open");
    auto window = std::make_unique<desktop::MainWindow>(*bridge);
    int received = 0;
    QObject::connect(bridge.get(), &desktop::SessionBridge::messageAdded,
                     [&](const store::MessageRow& row) { received += row.sender == "alice"; });
    StallMeter catch_up;
    if (!bridge->start())
        fail("bob could not start");
    bool all = wait_until([&] { return received >= n; }, 300'000);
    double total_ms = catch_up.elapsed_ms();
    auto [max_gap, p99_gap] = catch_up.stop();
    std::size_t ticks = catch_up.ticks();
    if (!all)
        fail("bob did not receive every message");

    // Opening alice's conversation of n messages, from another one.
    window->open_conversation("carol");
    if (!wait_until([&] { return window->open_peer() == "carol"; }, 20'000))
        fail("carol's conversation did not open");
    StallMeter opening;
    window->open_conversation("alice");
    if (!wait_until([&] { return window->message_model().rowCount() >= std::min(n, 500); }, 60'000))
        fail("alice's conversation did not show her messages");
    double open_ms = opening.elapsed_ms();
    auto [open_max, open_p99] = opening.stop();
    (void)open_p99;

    // A remembered-key start: the keyring holds the key, the start dialog opens the profile.
    const QString entry = desktop::keyring_entry(dir.path() / "bob");
    desktop::test::FakeKeyring keyring;
    {
        SecretBytes key = bridge->store().database_key();
        keyring.entries[entry] = Bytes(key.view().begin(), key.view().end());
    }
    desktop::set_remembered(entry, true);
    window.reset();
    bridge->close();
    bridge = std::make_unique<desktop::SessionBridge>();
    StallMeter starting;
    desktop::StartDialog dialog(*bridge, QString::fromStdString((dir.path() / "bob").string()),
                                QString());
    dialog.set_keyring(&keyring);
    if (!dialog.open_remembered())
        fail("the start dialog did not take the remembered key");
    if (!wait_until([&] { return dialog.result() == QDialog::Accepted; }, 60'000))
        fail("the remembered start did not open the profile");
    window = std::make_unique<desktop::MainWindow>(*bridge);
    QApplication::processEvents();
    double start_ms = starting.elapsed_ms();
    auto [start_max, start_p99] = starting.stop();
    (void)start_p99;

    std::printf("{\"workload\":\"desktop_gui_stall\",\"messages\":%d,\"max_gap_ms\":%.1f,"
                "\"p99_gap_ms\":%.1f,\"ticks\":%zu,\"catch_up_ms\":%.0f,"
                "\"open_max_gap_ms\":%.1f,\"open_ms\":%.0f,"
                "\"remembered_start_max_gap_ms\":%.1f,\"remembered_start_ms\":%.0f}\n",
                n, max_gap, p99_gap, ticks, total_ms, open_max, open_ms, start_max, start_ms);
    std::printf("| desktop GUI stall | %d messages | catch-up max %.1f ms, p99 %.1f ms, %.0f ms | "
                "open max %.1f ms, %.0f ms | remembered start max %.1f ms, %.0f ms |\n",
                n, max_gap, p99_gap, total_ms, open_max, open_ms, start_max, start_ms);
    std::fflush(stdout);
    window.reset();
    bridge->close();
    relay.signal(SIGTERM);
    relay.wait(std::chrono::seconds(10));
    return 0;
}

// UI1: how long the terminal app takes to lay out a 1 MiB one-line message of combining marks
// and joined emoji (QUALITY.md, "What the person sees": the UI stays responsive). One sample is
// what a person does with it: the conversation opens (render), /full shows the whole text
// (render) and Page Up scrolls into it (render). The model runs on the terminal tests' fake
// backend, as in tests/client-tui/tui_model_keys_test.cpp, which checks what the layout shows;
// the time target lives here, not in that test. Prints the median of the samples and its ratio
// to the target (under 1 meets it).
#include "fake_backend.h"
#include "support/json_line.h"
#include "support/workload.h"

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

using namespace veil;
using namespace veil::bench;
using namespace veil::tui;

namespace {

constexpr double kTargetMs = 2000.0;

std::string heavy_message() {
    std::string heavy = "e";
    while (heavy.size() < (1u << 19))
        heavy += "\xCC\x81"; // one letter under half a million accents: one cluster
    std::string emoji;
    while (emoji.size() < (1u << 19))
        emoji += "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7";
    return heavy + emoji;
}

double one_sample_ms(const std::string& text) {
    test::Fixture t;
    t.backend.contact_list = {"bob"};
    t.backend.receive("bob", text);
    t.model.open_initial("bob");
    const auto started = std::chrono::steady_clock::now();
    Frame f = t.model.render();
    t.enter(U"/full");
    f = t.model.render();
    t.model.handle_key(Key::of(Key::Type::page_up));
    f = t.model.render();
    const auto took = std::chrono::steady_clock::now() - started;
    if (f.pane.empty())
        fail("the message laid out to an empty pane");
    return std::chrono::duration<double, std::milli>(took).count();
}

} // namespace

int main() {
    quiet_logs();
    const long samples = env_count("VEIL_BENCH_UI1_SAMPLES", 5);
    const std::string text = heavy_message();
    std::vector<double> ms;
    for (long i = 0; i < samples; ++i)
        ms.push_back(one_sample_ms(text));
    const double med = median(ms);
    note("UI1: 1 MiB of combining marks and emoji laid out, /full and Page Up in " +
         std::to_string(med) + " ms (median of " + std::to_string(samples) + "), target " +
         std::to_string(kTargetMs) + " ms");
    JsonLine line("UI1");
    line.number("tui_1mib_layout_ms", med)
        .number("target_ms", kTargetMs)
        .number("ratio_to_target", med / kTargetMs);
    std::cout << line.str() << std::endl;
    return 0;
}

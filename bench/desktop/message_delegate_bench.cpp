// UI2: how long the desktop's message delegate takes to measure and paint three hard bubbles: a
// 1 MiB line, 100,000 emoji and a letter under 100,000 combining marks (QUALITY.md, "What the
// person sees": the UI stays responsive). The same bubbles as in
// tests/client-desktop/message_delegate_test.cpp, which checks what they show and that the cut
// one offers "show more"; the time target lives here, not in that test. Prints the median of the
// samples and its ratio to the target (under 1 meets it). Runs offscreen (QT_QPA_PLATFORM).
#include "client-desktop/desktop_fixture.h"
#include "message_delegate.h"
#include "message_list_model.h"
#include "support/json_line.h"
#include "support/workload.h"

#include <QElapsedTimer>
#include <QImage>
#include <QListView>
#include <QPainter>

#include <iostream>
#include <string>
#include <vector>

using namespace veil;
using namespace veil::bench;
using namespace veil::desktop;

namespace {

constexpr double kTargetMs = 3000.0;

double one_sample_ms(const std::vector<store::MessageRow>& rows) {
    MessageListModel model;
    QListView view;
    MessageDelegate delegate{&view};
    view.setModel(&model);
    view.setItemDelegate(&delegate);
    view.resize(800, 600);
    model.set_conversation("bob", rows);
    QElapsedTimer timer;
    timer.start();
    for (int row = 0; row < model.rowCount(); ++row) {
        QStyleOptionViewItem o;
        o.initFrom(&view);
        o.rect = QRect(0, 0, 800, delegate.sizeHint(o, model.index(row)).height());
        QImage image(o.rect.size(), QImage::Format_ARGB32_Premultiplied);
        image.fill(Qt::white);
        QPainter painter(&image);
        delegate.paint(&painter, o, model.index(row));
    }
    return static_cast<double>(timer.nsecsElapsed()) / 1e6;
}

} // namespace

int main() {
    quiet_logs();
    desktop::test::app();
    std::string emoji;
    for (int i = 0; i < 100'000; ++i)
        emoji += "\xF0\x9F\x98\x80";
    std::string marks = "a";
    for (int i = 0; i < 100'000; ++i)
        marks += "\xCC\x81"; // combining acute accent
    const std::vector<store::MessageRow> rows = {
        desktop::test::incoming("bob", 1, std::string(1 << 20, 'w')),
        desktop::test::incoming("bob", 2, emoji), desktop::test::incoming("bob", 3, marks)};
    const long samples = env_count("VEIL_BENCH_UI2_SAMPLES", 5);
    std::vector<double> ms;
    for (long i = 0; i < samples; ++i)
        ms.push_back(one_sample_ms(rows));
    const double med = median(ms);
    note("UI2: a 1 MiB line, 100,000 emoji and 100,000 combining marks measured and painted in " +
         std::to_string(med) + " ms (median of " + std::to_string(samples) + "), target " +
         std::to_string(kTargetMs) + " ms");
    JsonLine line("UI2");
    line.number("desktop_heavy_bubbles_ms", med)
        .number("target_ms", kTargetMs)
        .number("ratio_to_target", med / kTargetMs);
    std::cout << line.str() << std::endl;
    return 0;
}

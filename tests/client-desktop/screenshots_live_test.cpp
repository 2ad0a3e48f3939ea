// The screenshots in docs/screenshots: alice's window after a few everyday conversations with
// real accounts (bob, carol, dave) on a real veil-relay on loopback, in the light and the dark
// theme. Hidden; scripts/desktop-screenshots.sh runs it under Xvfb with VEIL_SHOT_DIR set (the
// folder the PNGs go to) and QT_QPA_PLATFORM=xcb.
#ifdef VEIL_RELAY_BIN
#include "main_window.h"

#include "add_contact_dialog.h"
#include "composer_edit.h"
#include "desktop_fixture.h"
#include "live_relay.h"
#include "session_bridge.h"
#include "theme.h"

#include <QBuffer>
#include <QDir>
#include <QKeyEvent>
#include <QLinearGradient>
#include <QPainter>
#include <QPainterPath>
#include <QSplitter>

#include <cstdlib>
#include <memory>

namespace veil::desktop {
namespace {

constexpr int kWaitMs = 20'000;

using test::register_account;

// A small landscape "photo" (sky, hills, a sun) as PNG bytes, to send as an image.
QByteArray landscape_png() {
    QImage image(640, 400, QImage::Format_RGB32);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    QLinearGradient sky(0, 0, 0, 400);
    sky.setColorAt(0, QColor(0x6f, 0xb1, 0xf2));
    sky.setColorAt(1, QColor(0xf6, 0xd3, 0x9b));
    p.fillRect(image.rect(), sky);
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(0xff, 0xe3, 0x7a));
    p.drawEllipse(QPointF(470, 120), 48, 48);
    QPainterPath far;
    far.moveTo(0, 300);
    far.cubicTo(160, 180, 300, 320, 420, 230);
    far.cubicTo(520, 170, 600, 250, 640, 220);
    far.lineTo(640, 400);
    far.lineTo(0, 400);
    p.setBrush(QColor(0x4c, 0x8c, 0x5a));
    p.drawPath(far);
    QPainterPath near;
    near.moveTo(0, 360);
    near.cubicTo(200, 290, 380, 380, 640, 310);
    near.lineTo(640, 400);
    near.lineTo(0, 400);
    p.setBrush(QColor(0x2f, 0x6b, 0x3c));
    p.drawPath(near);
    p.end();
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return bytes;
}

// The row of w's open conversation whose text begins with text, or -1.
int row_with(MainWindow& w, const QString& text) {
    auto& model = w.message_model();
    for (int row = 0; row < model.rowCount(); ++row)
        if (model.data(model.index(row), MessageListModel::TextRole).toString().startsWith(text))
            return row;
    return -1;
}

// Waits until w's open conversation shows a message beginning with text; returns its row.
int wait_for(MainWindow& w, const QString& text) {
    test::wait_until([&] { return row_with(w, text) >= 0; }, kWaitMs);
    int row = row_with(w, text);
    INFO("waiting for a message beginning \"" << text.toStdString() << "\"");
    REQUIRE(row >= 0);
    return row;
}

// Saves widget as dir/name and returns the picture's mean lightness (check_screenshot).
double save_shot(QWidget& widget, const QString& dir, const QString& name) {
    test::wait_until([] { return false; }, 400); // let the palette change repaint everything
    QPixmap shot = widget.grab();
    QString path = QDir(dir).filePath(name);
    REQUIRE(shot.save(path, "PNG"));
    return test::check_screenshot(path, shot.size());
}

// Both themes of widget as dir/NAME-light.png and dir/NAME-dark.png; the dark one is darker.
void save_both_themes(QWidget& widget, const QString& dir, const QString& name) {
    apply_theme(Theme::light);
    double light = save_shot(widget, dir, name + QStringLiteral("-light.png"));
    apply_theme(Theme::dark);
    double dark = save_shot(widget, dir, name + QStringLiteral("-dark.png"));
    CHECK(dark + 40 < light);
}

struct Person {
    SessionBridge bridge;
    std::unique_ptr<MainWindow> window;
};

TEST_CASE("alice's window with a few conversations, saved as the documentation's screenshots",
          "[.docs-screenshots]") {
    const char* out = std::getenv("VEIL_SHOT_DIR");
    test::app();
    test::TempDir dir;
    test::LiveRelay relay(dir.root());
    Person alice, bob, carol, dave;
    for (auto [person, name] :
         {std::pair{&alice, "alice"}, {&bob, "bob"}, {&carol, "carol"}, {&dave, "dave"}}) {
        register_account(person->bridge, dir.root(), name, relay.url);
        person->window = std::make_unique<MainWindow>(person->bridge);
    }
    MainWindow& a = *alice.window;
    MainWindow& b = *bob.window;
    // The people are looking at their windows: what lands in the open conversation is read.
    a.set_focus_probe([] { return true; });
    b.set_focus_probe([] { return true; });
    MainWindow& c = *carol.window;

    // carol and alice, earlier today.
    c.open_conversation("alice");
    c.send_text(QStringLiteral("Thanks again for the book! Halfway through already 📖"));
    a.open_conversation("carol");
    wait_for(a, QStringLiteral("Thanks again"));
    a.send_text(QStringLiteral("Glad you like it. The ending is worth it."));
    wait_for(c, QStringLiteral("Glad you"));

    // The hiking group.
    REQUIRE(a.create_group(QStringLiteral("Weekend hike"), {"bob", "carol"}).isEmpty());
    // Made on the worker: the window opens the group when the answer comes.
    REQUIRE(test::wait_until([&] { return a.open_peer() != "carol"; }, kWaitMs));
    const std::string group = a.open_peer();
    REQUIRE(test::wait_until(
        [&] {
            auto g = bob.bridge.store().groups();
            auto h = carol.bridge.store().groups();
            return a.input_enabled() && g && !g->empty() && h && !h->empty();
        },
        kWaitMs));
    c.open_conversation(group);
    b.open_conversation(group);
    c.send_text(QStringLiteral("Who's in for Saturday? The forecast says sunny ☀️"));
    wait_for(a, QStringLiteral("Who's in"));
    wait_for(b, QStringLiteral("Who's in"));
    b.send_text(QStringLiteral("Me! New boots need breaking in 🥾"));
    wait_for(a, QStringLiteral("Me! New boots"));
    a.send_text(QStringLiteral("Count me in, I can drive three people."));
    c.reply_to(wait_for(c, QStringLiteral("Count me in")));
    c.send_text(QStringLiteral("Perfect. 8:00 at the station?"));
    wait_for(b, QStringLiteral("Perfect."));
    CHECK(b.react(row_with(b, QStringLiteral("Perfect.")), QStringLiteral("👍")).isEmpty());
    CHECK(a.react(wait_for(a, QStringLiteral("Perfect.")), QStringLiteral("👍")).isEmpty());
    a.send_text(QStringLiteral("Works for me. Bring water, the hut is closed until May."));
    wait_for(b, QStringLiteral("Works for me"));

    // bob and alice.
    a.open_conversation("bob");
    b.open_conversation("alice");
    a.send_text(QStringLiteral("Lunch at noon? The usual place."));
    int lunch = wait_for(b, QStringLiteral("Lunch at noon"));
    CHECK(b.react(lunch, QStringLiteral("👍")).isEmpty());
    b.reply_to(lunch);
    b.send_text(QStringLiteral("Yes! See you there."));
    wait_for(a, QStringLiteral("Yes! See"));
    QString photo = test::write_file(dir, "trail-map.png", landscape_png());
    a.attach_files({photo});
    a.send_text(QStringLiteral("Here's the view from the top, for Saturday"));
    CHECK(b.react(wait_for(b, QStringLiteral("Here's the view")), QStringLiteral("❤️"))
              .isEmpty());
    a.send_text(QStringLiteral("I'll bring the report"));
    wait_for(b, QStringLiteral("I'll bring"));
    a.start_edit(row_with(a, QStringLiteral("I'll bring")));
    a.send_text(QStringLiteral("I'll bring the printed report"));
    a.send_text(QStringLiteral("Sorry, wrong chat"));
    // Deleted once it is stored (the bubble shows at once, its stored row takes its place).
    REQUIRE(test::wait_until(
        [&] {
            const int row = row_with(a, QStringLiteral("Sorry, wrong"));
            return row >= 0 && a.message_model().message_at(row).id > 0;
        },
        kWaitMs));
    CHECK(a.delete_for_everyone(wait_for(a, QStringLiteral("Sorry, wrong"))).isEmpty());
    REQUIRE(
        test::wait_until([&] { return row_with(a, QStringLiteral("Sorry, wrong")) < 0; }, kWaitMs));
    QString notes = test::write_file(dir, "budget-2027.pdf", QByteArray(412 * 1024, 'p'));
    a.attach_files({notes});
    a.send_text(QStringLiteral("And the budget, for Monday"));
    wait_for(b, QStringLiteral("And the budget"));

    // While alice reads the group, bob writes twice and dave once.
    a.open_conversation(group);
    b.send_text(QStringLiteral("Got it, thanks! I'll read it on the train."));
    b.send_text(QStringLiteral("Also: can we move lunch to 12:30?\nThe meeting before runs long."));
    dave.window->open_conversation("alice");
    dave.window->send_text(QStringLiteral("Did you get the concert tickets? 🎶"));
    REQUIRE(test::wait_until(
        [&] {
            return alice.bridge.store().unread("bob").value() == 2 &&
                   alice.bridge.store().unread("dave").value() == 1;
        },
        kWaitMs));

    a.resize(1280, 800);
    a.show();
    a.raise();
    if (out) {
        QDir().mkpath(QString::fromUtf8(out));
        save_both_themes(a, QString::fromUtf8(out), QStringLiteral("conversation"));
    }

    // bob types while alice opens their conversation: the unread line and the typing line.
    a.open_conversation("bob");
    QKeyEvent key(QEvent::KeyPress, Qt::Key_O, Qt::NoModifier, QStringLiteral("o"));
    QApplication::sendEvent(&b.composer(), &key);
    CHECK(test::wait_until([&] { return !a.typing_text().isEmpty(); }, kWaitMs));
    if (out) {
        save_both_themes(a, QString::fromUtf8(out), QStringLiteral("main"));
    }
    // More views, for looking at while working on them (not in the documentation).
    if (const char* extra = std::getenv("VEIL_SHOT_EXTRA")) {
        apply_theme(Theme::light);
        a.search(QStringLiteral("lunch"));
        alice.bridge.wait_idle();
        save_shot(a, QString::fromUtf8(extra), QStringLiteral("search.png"));
        a.end_search();
        MainWindow& d = *dave.window;
        d.resize(1000, 640);
        d.show();
        save_shot(d, QString::fromUtf8(extra), QStringLiteral("dave.png"));
        QWidget* picker = a.emoji_picker();
        save_shot(*picker, QString::fromUtf8(extra), QStringLiteral("emoji.png"));
        picker->close();

        // A look-alike of bob writes; a long group name; a long message.
        Person impostor;
        register_account(impostor.bridge, dir.root(), "b0b", relay.url);
        impostor.window = std::make_unique<MainWindow>(impostor.bridge);
        impostor.window->open_conversation("alice");
        impostor.window->send_text(QStringLiteral("Hi Alice, it's Bob, new phone. Can you send "
                                                  "me the budget again?"));
        REQUIRE(test::wait_until([&] { return alice.bridge.store().unread("b0b").value() == 1; },
                                 kWaitMs));
        a.open_conversation("b0b");
        for (bool dark : {false, true}) {
            apply_theme(dark ? Theme::dark : Theme::light);
            save_shot(a, QString::fromUtf8(extra),
                      dark ? QStringLiteral("lookalike-dark.png")
                           : QStringLiteral("lookalike.png"));
        }
        apply_theme(Theme::light);
        AddContactDialog* add = a.add_contact();
        add->fill(QStringLiteral("caro1"));
        save_shot(*add, QString::fromUtf8(extra), QStringLiteral("add-contact.png"));
        add->close();
        REQUIRE(a.create_group(QStringLiteral("The neighbourhood association's summer barbecue "
                                              "planning committee (2027 edition)"),
                               {"bob", "carol"})
                    .isEmpty());
        REQUIRE(
            test::wait_until([&] { return a.open_peer() != "b0b" && a.input_enabled(); }, kWaitMs));
        a.send_text(QStringLiteral(
            "A long one, to see how a bubble wraps: we meet at eight at the station, take the "
            "8:20 to the valley, walk up past the old mill to the hut (about three hours with "
            "breaks), eat there, and come down the ridge path if the weather holds; otherwise "
            "the same way back. Bring water, a warm layer, sun cream and something to share. "
            "Averylongwordwithoutanyspacesthatmustbebrokensomewherebecauseitdoesnotfitinthebubble"
            "."));
        a.resize(1000, 640);
        save_shot(a, QString::fromUtf8(extra), QStringLiteral("long.png"));
        a.resize(1280, 800);
        impostor.bridge.close();

        // A new account: nothing to list, nothing open.
        Person newcomer;
        register_account(newcomer.bridge, dir.root(), "erin", relay.url);
        newcomer.window = std::make_unique<MainWindow>(newcomer.bridge);
        newcomer.window->resize(1000, 640);
        newcomer.window->show();
        save_shot(*newcomer.window, QString::fromUtf8(extra), QStringLiteral("empty.png"));
        newcomer.bridge.close();
    }
    const char* ms = std::getenv("VEIL_SHOT_MS");
    test::wait_until([] { return false; }, ms ? std::atoi(ms) : 0);
    apply_theme(Theme::system);
    for (Person* person : {&alice, &bob, &carol, &dave})
        person->bridge.close();
}

} // namespace
} // namespace veil::desktop
#endif // VEIL_RELAY_BIN

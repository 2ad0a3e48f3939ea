// Pasting a picture into the composer: how it is encoded and named, which pastes count as a
// picture, and a screenshot pasted with Ctrl+V in one window arriving whole in another through a
// real relay.
#include "pasted_image.h"

#include "composer_edit.h"

#include "desktop_fixture.h"

#include <QBuffer>
#include <QClipboard>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QGuiApplication>
#include <QImageReader>
#include <QMimeData>
#include <QPainter>
#include <QSignalSpy>
#include <QTest>
#include <QUrl>

#include <random>

#ifdef VEIL_RELAY_BIN
#include "live_relay.h"
#include "main_window.h"
#include "session_bridge.h"

#include <QPushButton>
#endif

namespace veil::desktop {
namespace {

// A screenshot-like picture: flat colours, a few shapes and some text.
QImage screenshot(int width, int height) {
    QImage image(width, height, QImage::Format_ARGB32_Premultiplied);
    image.fill(QColor(245, 246, 248));
    QPainter painter(&image);
    painter.fillRect(0, 0, width / 4, height, QColor(40, 44, 52));
    painter.setPen(Qt::black);
    painter.drawText(width / 3, height / 3, QStringLiteral("Quarterly figures, draft 3"));
    painter.fillRect(width / 3, height / 2, width / 3, height / 8, QColor(80, 140, 220));
    painter.end();
    return image;
}

// A photo-like picture: smooth gradients with a camera's fine grain, every pixel different.
QImage photo(int width, int height) {
    QImage image(width, height, QImage::Format_RGB32);
    std::mt19937 random(11);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            auto grain = static_cast<int>(random() % 3);
            image.setPixel(x, y,
                           qRgb((x * 200 / width + grain) % 256, (y * 200 / height + grain) % 256,
                                ((x + y) * 100 / (width + height) + 80 + grain) % 256));
        }
    return image;
}

QImage decode(const QByteArray& bytes) {
    QImage image;
    image.loadFromData(bytes);
    return image;
}

bool same_pixels(const QImage& a, const QImage& b) {
    return a.size() == b.size() &&
           a.convertToFormat(QImage::Format_ARGB32) == b.convertToFormat(QImage::Format_ARGB32);
}

TEST_CASE("a pasted screenshot is encoded as PNG with its exact pixels and named after its time") {
    test::app(); // the picture has text on it, which needs the GUI application's fonts
    QImage shot = screenshot(800, 500);
    QDateTime when(QDate(2026, 12, 5), QTime(9, 14, 3));
    EncodedImage encoded = encode_pasted_image(shot, when);
    CHECK(encoded.file_name == QStringLiteral("Pasted image 2026-12-05 09.14.03.png"));
    REQUIRE_FALSE(encoded.bytes.isEmpty());
    CHECK(encoded.bytes.startsWith("\x89PNG"));
    CHECK(same_pixels(decode(encoded.bytes), shot));
}

TEST_CASE("a large pasted photo is sent as JPEG when that is far smaller, a transparent one "
          "stays PNG") {
    test::app();
    QImage picture = photo(1600, 1200);
    QDateTime when(QDate(2026, 12, 5), QTime(9, 14, 3));
    EncodedImage encoded = encode_pasted_image(picture, when);
    INFO("encoded: " << encoded.bytes.size() << " bytes");
    CHECK(encoded.file_name.toStdString() == "Pasted image 2026-12-05 09.14.03.jpg");
    CHECK(encoded.bytes.startsWith("\xff\xd8"));
    QImage back = decode(encoded.bytes);
    CHECK(back.size() == picture.size());

    // The same photo with one see-through corner: JPEG would lose that, so it stays PNG.
    QImage clear = picture.convertToFormat(QImage::Format_ARGB32);
    clear.setPixel(0, 0, qRgba(0, 0, 0, 0));
    EncodedImage kept = encode_pasted_image(clear, when);
    CHECK(kept.file_name.endsWith(QStringLiteral(".png")));
    CHECK(same_pixels(decode(kept.bytes), clear));

    CHECK(encode_pasted_image(QImage(), when).bytes.isEmpty());
}

TEST_CASE("the composer takes a picture without text as a picture, text and files as before") {
    test::app();
    ComposerEdit edit;
    QSignalSpy images(&edit, &ComposerEdit::imagePasted);
    QSignalSpy files(&edit, &ComposerEdit::filesPasted);

    QMimeData picture;
    picture.setImageData(screenshot(64, 40));
    CHECK(edit.canInsertFromMimeData(&picture));
    edit.insertFromMimeData(&picture);
    REQUIRE(images.size() == 1);
    CHECK(same_pixels(images[0][0].value<QImage>(), screenshot(64, 40)));
    CHECK(edit.text().isEmpty());

    // An office suite puts a picture of the copied cells beside their text: the text is pasted.
    QMimeData cells;
    cells.setImageData(screenshot(64, 40));
    cells.setText(QStringLiteral("12\t14"));
    edit.insertFromMimeData(&cells);
    CHECK(images.size() == 1);
    CHECK(edit.text() == QStringLiteral("12\t14"));

    test::TempDir dir;
    QString path = test::write_file(dir, "notes.txt", QByteArray("hello"));
    QMimeData file;
    file.setUrls({QUrl::fromLocalFile(path)});
    file.setImageData(screenshot(8, 8));
    edit.insertFromMimeData(&file);
    REQUIRE(files.size() == 1);
    CHECK(files[0][0].toStringList() == QStringList{path});
    CHECK(images.size() == 1);
}

TEST_CASE("pasted pictures get their own names in a private folder and go once forgotten") {
    test::app();
    PastedImages pasted;
    QSignalSpy saved(&pasted, &PastedImages::saved);
    QSignalSpy failed(&pasted, &PastedImages::failed);
    pasted.add(screenshot(300, 200), QStringLiteral("bob"));
    pasted.add(screenshot(300, 200), QStringLiteral("bob"));
    REQUIRE(test::wait_until([&] { return saved.size() + failed.size() == 2; }, 20'000));
    REQUIRE(failed.isEmpty());
    QString first = saved[0][0].toString();
    QString second = saved[1][0].toString();
    CHECK(saved[0][1].toString() == QStringLiteral("bob"));
    CHECK(first != second);
    CHECK(QFileInfo(first).fileName().startsWith(QStringLiteral("Pasted image ")));
    // Only the person's account may read the folder: no group or other bits.
    CHECK((QFileInfo(QFileInfo(first).path()).permissions() &
           (QFile::ReadGroup | QFile::ReadOther | QFile::ExeGroup | QFile::ExeOther)) == 0);
    CHECK(same_pixels(QImage(first), screenshot(300, 200)));

    // A file that is not one of its own is never deleted.
    test::TempDir dir;
    QString other = test::write_file(dir, "keep.png", QByteArray("x"));
    pasted.forget({first, other});
    CHECK_FALSE(QFile::exists(first));
    CHECK(QFile::exists(second));
    CHECK(QFile::exists(other));

    pasted.add(QImage(), QStringLiteral("bob"));
    CHECK(failed.size() == 1);
}

#ifdef VEIL_RELAY_BIN

QPushButton* button(QWidget& parent, const QString& text) {
    for (auto* b : parent.findChildren<QPushButton*>())
        if (b->text() == text)
            return b;
    return nullptr;
}

TEST_CASE("a screenshot pasted with Ctrl+V is sent as a file and arrives with the same pixels") {
    test::app();
    test::TempDir dir;
    test::LiveRelay relay(dir.root());
    SessionBridge alice_bridge, bob_bridge;
    test::register_account(alice_bridge, dir.root(), "alice", relay.url);
    test::register_account(bob_bridge, dir.root(), "bob", relay.url);
    MainWindow alice(alice_bridge);
    alice_bridge.wait_idle();
    MainWindow bob(bob_bridge);
    bob_bridge.wait_idle();
    int uploads = 0;
    QObject::connect(&alice_bridge, &SessionBridge::transferProgress, [&] { ++uploads; });

    alice.open_conversation("bob");
    alice_bridge.wait_idle();
    QImage shot = screenshot(640, 400);
    QGuiApplication::clipboard()->setImage(shot);
    QTest::keyClick(&alice.composer(), Qt::Key_V, Qt::ControlModifier);
    REQUIRE(test::wait_until([&] { return alice.attached_files().size() == 1; }, 20'000));
    INFO(alice.error_text().toStdString());
    const QString pasted = alice.attached_files().front();
    const QString name = QFileInfo(pasted).fileName();
    CHECK(name.startsWith(QStringLiteral("Pasted image ")));
    CHECK(name.endsWith(QStringLiteral(".png")));
    // The same chip as a dropped file: its name and size in the compose note.
    CHECK(alice.compose_note().startsWith(QStringLiteral("📎 ") + name + QStringLiteral(" (")));
    CHECK(alice.composer().text().isEmpty());

    alice.send_text(QStringLiteral("this screen"));
    REQUIRE(alice.message_model().rowCount() == 1);
    CHECK(alice.compose_note().isEmpty());
    // Sent: once the engine keeps its own encrypted copy, the plain one is gone.
    CHECK(test::wait_until([&] { return !QFile::exists(pasted); }, 20'000));
    REQUIRE(
        test::wait_until([&] { return bob_bridge.store().unread("alice").value() == 1; }, 20'000));
    CHECK(uploads > 0);

    bob.open_conversation("alice");
    bob_bridge.wait_idle();
    REQUIRE(bob.message_model().rowCount() == 1);
    auto files = bob.message_model()
                     .data(bob.message_model().index(0), MessageListModel::FileInfoRole)
                     .toList();
    REQUIRE(files.size() == 1);
    CHECK_FALSE(files[0].value<MessageListModel::FileInfo>().thumbnail.isNull());
    bob.show_files_of(0);
    QPushButton* download = button(bob.files_panel(), QStringLiteral("Download"));
    REQUIRE(download != nullptr);
    download->click();
    REQUIRE(test::wait_until(
        [&] { return button(bob.files_panel(), QStringLiteral("Save as…")) != nullptr; }, 20'000));
    QString saved = QString::fromStdString((dir.root() / "saved.png").string());
    CHECK(bob.save_attachment(0, 0, saved).isEmpty());
    // Saved on the worker: the answer comes later.
    CHECK(test::wait_until([&] { return same_pixels(QImage(saved), shot); }, 20'000));
    INFO(bob.error_text().toStdString());

    bob_bridge.close();
    alice_bridge.close();
}

#endif

} // namespace
} // namespace veil::desktop

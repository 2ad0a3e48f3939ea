// Shared helpers for the desktop tests: one QApplication for the process (offscreen platform,
// set by the suite), temporary profile folders, message rows, and waiting on the event loop.
#pragma once

#include "support/temp_dir.h"

#include "app_settings.h"
#include "store/account_store.h"

#include <QApplication>
#include <QBuffer>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QSet>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <unistd.h>

namespace veil::desktop::test {

inline QApplication& app() {
    static int argc = 1;
    static char name[] = "desktop_tests";
    static char* argv[] = {name, nullptr};
    if (!std::getenv("QT_QPA_PLATFORM"))
        ::setenv("QT_QPA_PLATFORM", "offscreen", 1);
    // Never destroyed: a static QApplication would be torn down after Qt's own globals (the
    // input devices a key event creates), which crashes at exit.
    static QApplication* instance = new QApplication(argc, argv);
    // The app's QSettings (window state, theme, remembered profiles) go to a file of this run,
    // never to the person's own settings.
    static veil::test::TempDir settings_dir{"veil-desktop-settings"};
    static bool settings_set = [] {
        use_settings_file(QString::fromStdString((settings_dir.path() / "veil.ini").string()));
        return true;
    }();
    (void)settings_set;
    return *instance;
}

// Runs the event loop until done() or timeout_ms; returns done().
inline bool wait_until(const std::function<bool()>& done, int timeout_ms) {
    QElapsedTimer timer;
    timer.start();
    while (!done() && timer.elapsed() < timeout_ms)
        QApplication::processEvents(QEventLoop::AllEvents, 20);
    return done();
}

// A folder under the system temp directory, removed with everything in it at the end.
class TempDir {
public:
    const std::filesystem::path& root() const { return m_root.path(); }
    std::filesystem::path profile() const { return root() / "profile"; }

private:
    veil::test::TempDir m_root{"veil-desktop-test"};
};

inline Bytes message_id(std::uint8_t n) {
    Bytes id(16, 0x5a);
    id[15] = n;
    return id;
}

inline store::MessageRow incoming(const std::string& peer, std::uint8_t n,
                                  const std::string& text) {
    store::MessageRow row;
    row.id = n;
    row.peer = peer;
    row.message_id = message_id(n);
    row.direction = store::Direction::incoming;
    row.sender = peer;
    row.text = text;
    row.sent_at_ms = 1700000000000 + n;
    row.received_at_ms = row.sent_at_ms + 10;
    row.status = store::MessageStatus::received;
    return row;
}

inline store::MessageRow outgoing(const std::string& peer, std::uint8_t n,
                                  const std::string& text) {
    store::MessageRow row = incoming(peer, n, text);
    row.direction = store::Direction::outgoing;
    row.sender = "alice";
    row.status = store::MessageStatus::queued;
    return row;
}

// A 16-byte group id ending in n.
inline Bytes group_id(std::uint8_t n) {
    Bytes id(16, 0x47);
    id[15] = n;
    return id;
}

// A group as the store keeps it; change and state_hash are stand-ins (nothing here reads them).
inline store::GroupRow group_row(std::uint8_t n, const std::string& name, bool has_left = false) {
    store::GroupRow row;
    row.group_id = group_id(n);
    row.revision = 1;
    row.change = Bytes{1, 2, 3};
    row.state_hash = Bytes(32, 0x11);
    row.name = name;
    row.has_left = has_left;
    return row;
}

// A message of member `sender` in group n's conversation.
inline store::MessageRow group_message(std::uint8_t group, std::uint8_t n,
                                       const std::string& sender, const std::string& text) {
    store::MessageRow row = incoming(store::group_conversation(group_id(group)), n, text);
    row.sender = sender;
    return row;
}

// A system line (a join, a removal) in group n's conversation.
inline store::MessageRow system_line(std::uint8_t group, std::uint8_t n, const std::string& text) {
    store::MessageRow row = group_message(group, n, store::kSystemSender, text);
    row.kind = store::MessageKind::system;
    return row;
}

// A width×height picture encoded as format ("PNG", "JPEG", "BMP"): one colour, or random
// pixels (noisy), which no encoder can shrink much.
inline QByteArray picture_bytes(const char* format, int width, int height, bool noisy = false) {
    QImage image(width, height, QImage::Format_RGB32);
    image.fill(QColor(40, 120, 200));
    if (noisy) {
        std::mt19937 random(7);
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x)
                image.setPixel(x, y, static_cast<QRgb>(random()) | 0xff000000u);
    }
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    REQUIRE(image.save(&buffer, format));
    return bytes;
}

// A 1×1 GIF, which Qt decodes but cannot write.
inline QByteArray gif_bytes() {
    static constexpr unsigned char kGif[] = {
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};
    return QByteArray(reinterpret_cast<const char*>(kGif), sizeof kGif);
}

// Writes bytes to a file named name under dir; returns its path.
inline QString write_file(const TempDir& dir, const std::string& name, const QByteArray& bytes) {
    QString path = QString::fromStdString((dir.root() / name).string());
    QFile file(path);
    REQUIRE(file.open(QIODevice::WriteOnly));
    REQUIRE(file.write(bytes) == bytes.size());
    return path;
}

inline Bytes to_bytes(const QByteArray& bytes) {
    return Bytes(bytes.begin(), bytes.end());
}

// A screenshot saved at path really shows a window: it reads back at the widget's size, holds
// many colours (a blank or half-painted window has a handful) and returns its mean lightness
// (0-255), so that a dark-theme shot can be checked to be darker than its light twin.
inline double check_screenshot(const QString& path, QSize size) {
    QImage image(path);
    REQUIRE_FALSE(image.isNull());
    CHECK(image.size() == size);
    QSet<QRgb> colours;
    double lightness = 0;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2) {
            QRgb pixel = image.pixel(x, y);
            colours.insert(pixel);
            lightness += qGray(pixel);
        }
    CHECK(colours.size() >= 64);
    return lightness / ((image.height() + 1) / 2 * ((image.width() + 1) / 2));
}

} // namespace veil::desktop::test

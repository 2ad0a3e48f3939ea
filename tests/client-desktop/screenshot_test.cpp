// Screenshots of the settings and encryption dialogs for docs/screenshots, in a light and a dark
// palette. Hidden ([.screenshot]); run under a real X server (one command line):
//   VEIL_SCREENSHOT_DIR=docs/screenshots xvfb-run -a -s "-screen 0 1280x800x24"
//       env QT_QPA_PLATFORM=xcb build/tests/desktop_tests "[.screenshot]"
// The dark palette here stands in for the theme module's until the two are merged.
#include "desktop_fixture.h"
#include "encryption_dialog.h"
#include "fake_keyring.h"
#include "main_window.h"
#include "session_bridge.h"
#include "settings_dialog.h"

#include <QCheckBox>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>

namespace veil::desktop {
namespace {

QPalette dark_palette() {
    QPalette p;
    const QColor window(0x2b, 0x2d, 0x31), base(0x1e, 0x1f, 0x22), text(0xe6, 0xe6, 0xe6);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9a, 0x9a));
    p.setColor(QPalette::Highlight, QColor(0x3d, 0x7e, 0xd8));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x80, 0x80, 0x80));
    p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x80, 0x80, 0x80));
    p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(0x80, 0x80, 0x80));
    return p;
}

void save(QWidget& widget, const std::string& name) {
    const char* dir = std::getenv("VEIL_SCREENSHOT_DIR");
    REQUIRE(dir);
    widget.show();
    test::wait_until([] { return false; }, 300); // let it lay out and paint
    QString path = QString::fromLocal8Bit(dir) + QLatin1Char('/') + QString::fromStdString(name);
    REQUIRE(widget.grab().save(path));
}

engine::ConversationSecurity sample_group() {
    engine::ConversationSecurity details;
    details.group = true;
    engine::MemberSecurity bob;
    bob.username = "bob";
    bob.identity_known = true;
    bob.trust.verified = true;
    bob.devices = {{1, true, true}, {2, true, true}};
    engine::MemberSecurity carol;
    carol.username = "carol";
    carol.identity_known = true;
    carol.devices = {{1, true, false}};
    engine::MemberSecurity dave;
    dave.username = "dave";
    details.members = {bob, carol, dave};
    return details;
}

TEST_CASE("screenshots of the settings and encryption dialogs", "[.screenshot]") {
    test::app();
    QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    const QPalette light = QApplication::style()->standardPalette();
    test::TempDir dir;
    SessionBridge bridge;
    REQUIRE(bridge
                .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                "ws://127.0.0.1:1", "Laptop")
                .ok());
    for (const char* name : {"bob", "carol"})
        REQUIRE(bridge.engine().add_contact(name).ok());
    test::FakeKeyring keyring;
    MainWindow window(bridge);
    window.set_keyring(&keyring);

    for (bool dark : {false, true}) {
        QApplication::setPalette(dark ? dark_palette() : light);
        std::string suffix = dark ? "-dark.png" : "-light.png";
        SettingsDialog* settings = window.settings();
        settings->remember_box().setChecked(true);
        settings->adjustSize();
        save(*settings, "settings" + suffix);
        settings->close();

        EncryptionDialog::Actions actions;
        actions.load = [] { return Result<engine::ConversationSecurity>(sample_group()); };
        actions.safety_number = [](const std::string& who) {
            return who == "bob" ? QStringLiteral("052141829930714066822437915046071238956430518819"
                                                 "706245831270")
                                : QString();
        };
        EncryptionDialog encryption(QStringLiteral("# hikers"), true, actions);
        encryption.resize(620, 440);
        save(encryption, "encryption" + suffix);
    }
    QApplication::setPalette(light);
    bridge.close();
}

} // namespace
} // namespace veil::desktop

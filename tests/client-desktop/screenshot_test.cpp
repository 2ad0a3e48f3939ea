// Screenshots of the settings and encryption dialogs for docs/screenshots, in the light and the
// dark theme. Hidden ([.docs-screenshots]); scripts/desktop-screenshots.sh runs it under Xvfb.
#include "desktop_fixture.h"
#include "encryption_dialog.h"
#include "fake_keyring.h"
#include "main_window.h"
#include "session_bridge.h"
#include "settings_dialog.h"
#include "theme.h"

#include <QCheckBox>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>

namespace veil::desktop {
namespace {

// Saves widget as VEIL_SHOT_DIR/name; returns its mean lightness (test::check_screenshot).
double save(QWidget& widget, const std::string& name) {
    const char* dir = std::getenv("VEIL_SHOT_DIR");
    REQUIRE(dir);
    widget.show();
    test::wait_until([] { return false; }, 300); // let it lay out and paint
    QString path = QString::fromLocal8Bit(dir) + QLatin1Char('/') + QString::fromStdString(name);
    QPixmap shot = widget.grab();
    REQUIRE(shot.save(path));
    return test::check_screenshot(path, shot.size());
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

TEST_CASE("screenshots of the settings and encryption dialogs", "[.docs-screenshots]") {
    test::app();
    QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    test::TempDir dir;
    SessionBridge bridge;
    REQUIRE(bridge
                .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                "ws://127.0.0.1:1", "Laptop")
                .ok());
    for (const char* name : {"bob", "carol"})
        REQUIRE(bridge
                    .run_blocking_for_tests(
                        [&](qt::ClientSession& s_) { return s_.engine().add_contact(name); })
                    .ok());
    test::FakeKeyring keyring;
    MainWindow window(bridge);
    window.set_keyring(&keyring);

    double lightness[2][2] = {}; // [dark][settings, encryption]
    for (bool dark : {false, true}) {
        apply_theme(dark ? Theme::dark : Theme::light);
        std::string suffix = dark ? "-dark.png" : "-light.png";
        SettingsDialog* settings = window.settings();
        settings->remember_box().setChecked(true);
        settings->adjustSize();
        lightness[dark][0] = save(*settings, "settings" + suffix);
        settings->close();

        EncryptionDialog::Actions actions;
        actions.load = [](EncryptionDialog::Reply<Result<engine::ConversationSecurity>> reply) {
            reply(Result<engine::ConversationSecurity>(sample_group()));
        };
        actions.safety_number = [](const std::string& who, EncryptionDialog::Reply<QString> reply) {
            reply(who == "bob" ? QStringLiteral("052141829930714066822437915046071238956430518819"
                                                "706245831270")
                               : QString());
        };
        EncryptionDialog encryption(QStringLiteral("# hikers"), true, actions);
        encryption.resize(620, 440);
        lightness[dark][1] = save(encryption, "encryption" + suffix);
    }
    CHECK(lightness[1][0] + 40 < lightness[0][0]);
    CHECK(lightness[1][1] + 40 < lightness[0][1]);
    apply_theme(Theme::system);
    bridge.close();
}

} // namespace
} // namespace veil::desktop

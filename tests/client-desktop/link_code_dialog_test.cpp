#include "link_code_dialog.h"

#include "desktop_fixture.h"

#include "crypto/link.h"
#include "crypto/provider.h"

#include <QDateTime>
#include <QLabel>
#include <QPushButton>

#include <qrencode.h>

namespace veil::desktop {
namespace {

struct Code {
    QString text;
    QString uri;
};

Code new_code() {
    Bytes channel = crypto::random_bytes(crypto::kLinkChannelBytes);
    SecretBytes secret = crypto::new_link_secret();
    return {QString::fromStdString(crypto::format_link_code(channel, secret)),
            QString::fromStdString(crypto::link_code_uri(channel, secret))};
}

int symbol_width(const QString& payload) {
    QByteArray utf8 = payload.toUtf8();
    QRcode* code = QRcode_encodeString(utf8.constData(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    REQUIRE(code != nullptr);
    int width = code->width;
    QRcode_free(code);
    return width;
}

TEST_CASE("the link code dialog shows the code as text and as a QR image of the right size") {
    test::app();
    LinkCodeDialog dialog;
    Code code = new_code();
    qint64 expires = QDateTime::currentMSecsSinceEpoch() + 10 * 60 * 1000;
    dialog.show_code(code.text, code.uri, expires);

    CHECK(dialog.code_text() == code.text);
    int side = (symbol_width(code.uri) + 8) * LinkCodeDialog::kModulePixels;
    CHECK(dialog.qr().size() == QSize(side, side));
    CHECK(dialog.expiry_text().contains(
        QDateTime::fromMSecsSinceEpoch(expires).toLocalTime().toString(QStringLiteral("HH:mm"))));
    CHECK(dialog.instruction_text() ==
          QStringLiteral("On a device of your account:\n    veil link accept %1\nor in Veil "
                         "desktop: Devices → Link a device.")
              .arg(code.text));
    CHECK(dialog.error_text().isEmpty());
    CHECK_FALSE(dialog.offers_start_again());

    // The code can be selected and copied, and is drawn in a fixed-pitch font.
    auto labels = dialog.findChildren<QLabel*>();
    auto shown = std::find_if(labels.begin(), labels.end(),
                              [&](QLabel* l) { return l->text() == code.text; });
    REQUIRE(shown != labels.end());
    CHECK(((*shown)->textInteractionFlags() & Qt::TextSelectableByMouse));
    // (What is requested: the offscreen platform has no font matching to check the result.)
    CHECK((*shown)->font().fixedPitch());
    for (const QLabel* label : labels)
        CHECK(label->textFormat() == Qt::PlainText);
}

TEST_CASE("a failed link takes the code away, says why and offers to start again") {
    test::app();
    LinkCodeDialog dialog;
    Code code = new_code();
    dialog.show_code(code.text, code.uri, QDateTime::currentMSecsSinceEpoch() + 60000);
    int asked = 0;
    QObject::connect(&dialog, &LinkCodeDialog::startAgainRequested, [&] { ++asked; });

    dialog.show_failure(QStringLiteral("The link code expired before another device used it."));
    CHECK(dialog.code_text().isEmpty());
    CHECK(dialog.qr().isNull());
    CHECK(dialog.error_text().contains(QStringLiteral("expired")));
    REQUIRE(dialog.offers_start_again());
    auto buttons = dialog.findChildren<QPushButton*>();
    auto again = std::find_if(buttons.begin(), buttons.end(), [](QPushButton* b) {
        return b->text() == QStringLiteral("Start again");
    });
    REQUIRE(again != buttons.end());
    (*again)->click();
    CHECK(asked == 1);

    dialog.show_waiting(QStringLiteral("Asking for a new code…"));
    CHECK_FALSE(dialog.offers_start_again());
    CHECK(dialog.error_text().isEmpty());
}

} // namespace
} // namespace veil::desktop

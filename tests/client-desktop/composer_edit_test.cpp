#include "composer_edit.h"

#include "desktop_fixture.h"

#include <QKeyEvent>
#include <QMimeData>
#include <QScrollBar>
#include <QUrl>

namespace veil::desktop {
namespace {

void press(QWidget& widget, Qt::Key key, Qt::KeyboardModifiers modifiers = Qt::NoModifier,
           const QString& text = {}) {
    QKeyEvent event(QEvent::KeyPress, key, modifiers, text);
    QApplication::sendEvent(&widget, &event);
}

TEST_CASE("Enter in the composer submits and Shift+Enter starts a new line") {
    test::app();
    ComposerEdit composer;
    int submitted = 0;
    QObject::connect(&composer, &ComposerEdit::submitted, [&] { ++submitted; });
    composer.setText(QStringLiteral("first line"));
    press(composer, Qt::Key_Return, Qt::ShiftModifier);
    press(composer, Qt::Key_S, Qt::NoModifier, QStringLiteral("s"));
    CHECK(composer.text() == QStringLiteral("first line\ns"));
    CHECK(submitted == 0);
    press(composer, Qt::Key_Return);
    CHECK(submitted == 1);
    press(composer, Qt::Key_Enter, Qt::KeypadModifier);
    CHECK(submitted == 2);
    CHECK(composer.text() == QStringLiteral("first line\ns")); // Enter typed nothing
}

TEST_CASE("the composer tells the person's edits from the window's") {
    test::app();
    ComposerEdit composer;
    QStringList edits;
    QObject::connect(&composer, &ComposerEdit::textEdited,
                     [&](const QString& text) { edits << text; });
    composer.setText(QStringLiteral("set by the window"));
    composer.clear();
    CHECK(edits.isEmpty());
    press(composer, Qt::Key_H, Qt::NoModifier, QStringLiteral("h"));
    CHECK(edits == QStringList{QStringLiteral("h")});
}

TEST_CASE("the composer grows with its lines up to a limit") {
    test::app();
    ComposerEdit composer;
    composer.resize(400, composer.height());
    const int one = composer.height();
    composer.setText(QStringLiteral("a\nb\nc"));
    const int three = composer.height();
    CHECK(three > one);
    composer.setText(QStringLiteral("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12"));
    const int many = composer.height();
    CHECK(many > three);
    composer.setText(QString(QStringLiteral("line\n")).repeated(100));
    CHECK(composer.height() == many);
}

TEST_CASE("the composer scrolls only at its most lines, and fits again after it is emptied") {
    test::app();
    ComposerEdit composer;
    composer.resize(400, composer.height());
    composer.show();
    CHECK(composer.verticalScrollBarPolicy() == Qt::ScrollBarAlwaysOff);
    composer.setText(QString(QStringLiteral("line\n")).repeated(20));
    CHECK(composer.verticalScrollBarPolicy() == Qt::ScrollBarAsNeeded);
    // Sent: emptied while narrow (as when the window lays out), then widened again.
    composer.resize(60, composer.height());
    composer.setText(QStringLiteral("Works for me. Bring water, the hut is closed until May."));
    composer.clear();
    composer.resize(400, composer.height());
    CHECK(composer.verticalScrollBarPolicy() == Qt::ScrollBarAlwaysOff);
    CHECK_FALSE(composer.verticalScrollBar()->isVisible());
}

TEST_CASE("pasting files attaches them and pasting rich text types plain text") {
    test::app();
    test::TempDir dir;
    QString path = test::write_file(dir, "notes.txt", QByteArray("n"));
    ComposerEdit composer;
    QStringList pasted;
    QObject::connect(&composer, &ComposerEdit::filesPasted,
                     [&](const QStringList& paths) { pasted = paths; });
    QMimeData files;
    files.setUrls({QUrl::fromLocalFile(path), QUrl(QStringLiteral("http://127.0.0.1/x"))});
    composer.insertFromMimeData(&files);
    CHECK(pasted == QStringList{path});
    CHECK(composer.text().isEmpty());

    QMimeData rich;
    rich.setHtml(QStringLiteral("<b>bold</b><img src=\"http://127.0.0.1/a.png\">"));
    rich.setText(QStringLiteral("<b>bold</b>"));
    composer.insertFromMimeData(&rich);
    CHECK(composer.text() == QStringLiteral("<b>bold</b>"));
}

} // namespace
} // namespace veil::desktop

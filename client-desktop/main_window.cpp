#include "main_window.h"

#include "display_text.h"
#include "session_bridge.h"
#include "util/log.h"

#include <QCloseEvent>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QToolBar>
#include <QVBoxLayout>

namespace veil::desktop {
namespace {

constexpr const char* kLog = "ui";
constexpr int kMessagesShown = 500;

QLabel* plain_label() {
    auto* label = new QLabel;
    label->setTextFormat(Qt::PlainText);
    return label;
}

} // namespace

MainWindow::MainWindow(SessionBridge& bridge, QWidget* parent)
    : QMainWindow(parent)
    , m_bridge(bridge)
    , m_conversation_model(this)
    , m_message_model(this) {
    build_ui();
    connect(&m_bridge, &SessionBridge::messageAdded, this, &MainWindow::on_message_added);
    connect(&m_bridge, &SessionBridge::statusChanged, this, &MainWindow::on_status_changed);
    connect(&m_bridge, &SessionBridge::stateChanged, this, &MainWindow::on_state_changed);
    connect(&m_bridge, &SessionBridge::errorReported, this, &MainWindow::show_error);
    on_state_changed(m_bridge.state());
    if (m_bridge.last_error())
        show_error(plain_error(*m_bridge.last_error()));
    reload_conversations();
    if (m_conversation_model.rowCount() > 0)
        open_conversation(m_conversation_model.peer_at(0));
    update_title();
}

void MainWindow::build_ui() {
    auto* add_contact = new QAction(tr("Add contact…"), this);
    add_contact->setShortcut(QKeySequence::New);
    connect(add_contact, &QAction::triggered, this, &MainWindow::on_add_contact);
    QToolBar* toolbar = addToolBar(tr("Conversations"));
    toolbar->setMovable(false);
    toolbar->addAction(add_contact);

    m_conversations = new QListView;
    m_conversations->setModel(&m_conversation_model);
    m_conversations->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_conversations->setSpacing(2);
    m_conversations->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_conversations->setTextElideMode(Qt::ElideRight);
    connect(m_conversations->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex& current) { on_selected(current); });

    m_peer_label = plain_label();
    QFont title = m_peer_label->font();
    title.setBold(true);
    title.setPointSizeF(title.pointSizeF() * 1.2);
    m_peer_label->setFont(title);
    m_messages = new QListView;
    m_messages->setModel(&m_message_model);
    m_messages->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_messages->setWordWrap(true);
    m_messages->setSpacing(3);
    m_messages->setSelectionMode(QAbstractItemView::NoSelection);
    m_messages->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    m_messages->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_input = new QLineEdit;
    m_input->setPlaceholderText(tr("Write a message"));
    m_send = new QPushButton(tr("Send"));
    connect(m_input, &QLineEdit::returnPressed, this, &MainWindow::on_send);
    connect(m_input, &QLineEdit::textChanged, this, &MainWindow::update_send_enabled);
    connect(m_send, &QPushButton::clicked, this, &MainWindow::on_send);

    auto* input_row = new QHBoxLayout;
    input_row->addWidget(m_input);
    input_row->addWidget(m_send);
    auto* right = new QWidget;
    auto* right_layout = new QVBoxLayout(right);
    right_layout->addWidget(m_peer_label);
    right_layout->addWidget(m_messages, 1);
    right_layout->addLayout(input_row);

    auto* splitter = new QSplitter;
    splitter->addWidget(m_conversations);
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({280, 720});
    setCentralWidget(splitter);

    m_state_label = plain_label();
    m_error_label = plain_label();
    m_error_label->setStyleSheet(QStringLiteral("color: #a01010;"));
    statusBar()->addWidget(m_state_label);
    statusBar()->addWidget(m_error_label, 1);
    resize(1000, 680);
    update_send_enabled();
}

void MainWindow::reload_conversations() {
    auto conversations = m_bridge.store().conversations();
    auto contacts = m_bridge.store().contacts();
    if (!conversations || !contacts) {
        show_error(plain_error(!conversations ? conversations.error() : contacts.error()));
        return;
    }
    m_conversation_model.set_rows(std::move(conversations.value()), contacts.value());
    select_current_peer();
    update_title();
}

void MainWindow::select_current_peer() {
    int row = m_conversation_model.row_of(m_peer);
    if (row < 0)
        return;
    // Restoring the highlight after a reload is not a new choice by the person.
    QSignalBlocker block(m_conversations->selectionModel());
    m_conversations->setCurrentIndex(m_conversation_model.index(row));
}

void MainWindow::open_conversation(const std::string& peer) {
    auto is_contact = m_bridge.store().is_contact(peer);
    if (is_contact && !is_contact.value()) {
        if (auto st = m_bridge.engine().add_contact(peer); !st) {
            show_error(plain_error(st.error()));
            return;
        }
    }
    auto rows = m_bridge.store().messages(peer, kMessagesShown);
    if (!rows) {
        show_error(plain_error(rows.error()));
        return;
    }
    m_peer = peer;
    m_message_model.set_conversation(peer, std::move(rows.value()));
    m_peer_label->setText(display_text(peer));
    m_messages->scrollToBottom();
    if (auto st = m_bridge.store().mark_read(peer); !st)
        show_error(plain_error(st.error()));
    reload_conversations();
    update_send_enabled();
    m_input->setFocus();
}

void MainWindow::on_selected(const QModelIndex& index) {
    if (!index.isValid())
        return;
    std::string peer = m_conversation_model.peer_at(index.row());
    if (peer != m_peer)
        open_conversation(peer);
}

void MainWindow::on_message_added(const store::MessageRow& row) {
    if (row.peer == m_peer && m_message_model.add(row)) {
        m_messages->scrollToBottom();
        if (row.direction == store::Direction::incoming) {
            if (auto st = m_bridge.store().mark_read(m_peer); !st)
                show_error(plain_error(st.error()));
        }
    }
    reload_conversations();
}

void MainWindow::on_status_changed(const QByteArray& message_id, store::MessageStatus status) {
    m_message_model.set_status(
        std::span(reinterpret_cast<const std::uint8_t*>(message_id.constData()),
                  static_cast<std::size_t>(message_id.size())),
        status);
    if (status == store::MessageStatus::failed)
        show_error(tr("A message could not be sent."));
}

void MainWindow::on_state_changed(engine::State state) {
    QString relay = m_bridge.relay_url();
    switch (state) {
    case engine::State::offline: m_state_label->setText(tr("Offline, retrying")); break;
    case engine::State::connecting:
        m_state_label->setText(tr("Connecting to %1…").arg(relay));
        break;
    case engine::State::authenticating: m_state_label->setText(tr("Signing in…")); break;
    case engine::State::ready:
        m_state_label->setText(tr("Connected to %1 as %2").arg(relay, m_bridge.username()));
        m_error_label->clear();
        reload_conversations();
        break;
    case engine::State::failed: m_state_label->setText(tr("Stopped")); break;
    }
}

void MainWindow::send_text(const QString& text) {
    m_input->setText(text);
    on_send();
}

void MainWindow::on_send() {
    QString text = m_input->text();
    if (m_peer.empty() || text.trimmed().isEmpty())
        return;
    auto sent = m_bridge.engine().send_text(m_peer, text.toStdString());
    if (!sent) {
        show_error(plain_error(sent.error()));
        return;
    }
    m_input->clear();
    log::debug(kLog, "queued a message");
}

void MainWindow::on_add_contact() {
    bool ok = false;
    QString name = QInputDialog::getText(this, tr("Add contact"), tr("Username:"),
                                         QLineEdit::Normal, QString(), &ok)
                       .trimmed();
    if (!ok || name.isEmpty())
        return;
    if (auto st = m_bridge.engine().add_contact(name.toStdString()); !st) {
        show_error(plain_error(st.error()));
        return;
    }
    open_conversation(name.toStdString());
}

void MainWindow::show_error(const QString& text) {
    m_error_label->setText(text);
}

QString MainWindow::state_text() const {
    return m_state_label->text();
}

QString MainWindow::error_text() const {
    return m_error_label->text();
}

void MainWindow::update_title() {
    QString title = tr("Veil — %1").arg(m_bridge.username());
    int unread = m_conversation_model.total_unread();
    if (unread > 0)
        title = QStringLiteral("(%1) ").arg(unread) + title;
    setWindowTitle(title);
}

void MainWindow::update_send_enabled() {
    m_input->setEnabled(!m_peer.empty());
    m_send->setEnabled(!m_peer.empty() && !m_input->text().trimmed().isEmpty());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    m_bridge.close();
    event->accept();
}

} // namespace veil::desktop

// MainWindow: the conversation list, the open conversation's messages, an input line with a
// Send button, an "Add contact" action, and a status bar with the connection state and the
// last error. It reads the store through the bridge and follows the bridge's signals.
//
// Thread: the GUI thread. Received text is shown only through the models' plain DisplayRole
// strings and Qt::PlainText labels.
#pragma once

#include "conversation_list_model.h"
#include "engine/engine.h"
#include "message_list_model.h"

#include <QMainWindow>

#include <string>

class QLabel;
class QLineEdit;
class QListView;
class QPushButton;

namespace veil::desktop {

class SessionBridge;

class MainWindow final : public QMainWindow {
    Q_OBJECT
public:
    // The bridge must hold an open profile and outlive the window.
    explicit MainWindow(SessionBridge& bridge, QWidget* parent = nullptr);

    // Shows peer's conversation (adding peer as a contact if needed) and marks it read.
    void open_conversation(const std::string& peer);
    // What typing text into the input line and pressing Enter does.
    void send_text(const QString& text);

    ConversationListModel& conversation_model() { return m_conversation_model; }
    MessageListModel& message_model() { return m_message_model; }
    QString state_text() const;
    QString error_text() const;

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void build_ui();
    void reload_conversations();
    void select_current_peer();
    void on_selected(const QModelIndex& index);
    void on_message_added(const store::MessageRow& row);
    void on_status_changed(const QByteArray& message_id, store::MessageStatus status);
    void on_state_changed(engine::State state);
    void on_send();
    void on_add_contact();
    void show_error(const QString& text);
    void update_title();
    void update_send_enabled();

    SessionBridge& m_bridge;
    ConversationListModel m_conversation_model;
    MessageListModel m_message_model;
    std::string m_peer;
    QListView* m_conversations = nullptr;
    QListView* m_messages = nullptr;
    QLabel* m_peer_label = nullptr;
    QLineEdit* m_input = nullptr;
    QPushButton* m_send = nullptr;
    QLabel* m_state_label = nullptr;
    QLabel* m_error_label = nullptr;
};

} // namespace veil::desktop

#include "new_group_dialog.h"

#include "desktop_fixture.h"

namespace veil::desktop {
namespace {

using Names = std::vector<std::string>;

TEST_CASE("members may be separated by commas, spaces or both") {
    auto parsed = parse_members(QStringLiteral(" bob, carol  dave,,erin\tfrank\n"), "alice");
    CHECK(parsed.error.isEmpty());
    CHECK(parsed.names == Names{"bob", "carol", "dave", "erin", "frank"});
}

TEST_CASE("the member list drops repeats and our own name") {
    auto parsed = parse_members(QStringLiteral("bob alice bob, carol"), "alice");
    CHECK(parsed.error.isEmpty());
    CHECK(parsed.names == Names{"bob", "carol"});
    CHECK(parse_members(QStringLiteral("  "), "alice").names.empty());
    CHECK(parse_members(QStringLiteral("  "), "alice").error.isEmpty());
}

TEST_CASE("invalid usernames are named in a sentence and nothing is taken") {
    auto one = parse_members(QStringLiteral("bob x"), "alice");
    CHECK(one.names.empty());
    CHECK(one.error.startsWith(QStringLiteral("“x” is not a valid username.")));
    CHECK(one.error.contains(QStringLiteral("2 to 32")));

    auto several = parse_members(QStringLiteral("Bob, c@rol, dave"), "alice");
    CHECK(several.names.empty());
    CHECK(several.error.startsWith(QStringLiteral("“Bob” and “c@rol” are not valid usernames.")));
    CHECK(several.error.contains(QStringLiteral("Did you mean “bob”?")));
}

TEST_CASE("a member list over the group size limit is refused") {
    QStringList many;
    for (int i = 0; i < 1024; ++i)
        many << QStringLiteral("user%1").arg(i);
    auto parsed = parse_members(many.join(QLatin1Char(',')), "alice");
    CHECK(parsed.names.empty());
    CHECK(parsed.error.contains(QStringLiteral("at most 1024 members")));
    many.removeLast();
    CHECK(parse_members(many.join(QLatin1Char(',')), "alice").names.size() == 1023);
}

struct Submitted {
    int calls = 0;
    QString name;
    Names members;
    QString answer; // what the "engine" says
};

NewGroupDialog::Submit recorder(Submitted& s) {
    return [&s](const QString& name, const Names& members) {
        ++s.calls;
        s.name = name;
        s.members = members;
        return s.answer;
    };
}

TEST_CASE("the new group form refuses an empty name and keeps the members typed") {
    test::app();
    Submitted s;
    NewGroupDialog dialog("alice", recorder(s));
    dialog.fill(QStringLiteral("   "), QStringLiteral("bob carol"));
    dialog.submit();
    CHECK(dialog.error_text() == QStringLiteral("Give the group a name."));
    CHECK(s.calls == 0);
    CHECK(dialog.members_text() == QStringLiteral("bob carol"));
    CHECK(dialog.result() != QDialog::Accepted);
}

TEST_CASE("the new group form refuses bad names with a sentence and loses nothing") {
    test::app();
    Submitted s;
    NewGroupDialog dialog("alice", recorder(s));
    dialog.fill(QStringLiteral("Hikers"), QStringLiteral("bob, Carol!"));
    dialog.submit();
    CHECK(dialog.error_text().contains(QStringLiteral("“Carol!” is not a valid username.")));
    CHECK(s.calls == 0);
    CHECK(dialog.name_text() == QStringLiteral("Hikers"));
    CHECK(dialog.members_text() == QStringLiteral("bob, Carol!"));

    QString long_name(kMaxGroupNameChars + 1, QChar(u'x'));
    dialog.fill(long_name, QStringLiteral("bob"));
    dialog.submit();
    CHECK(dialog.error_text().contains(QStringLiteral("keep it to 100")));
    CHECK(s.calls == 0);
}

TEST_CASE("a refusal from the engine stays in the dialog with the form as typed") {
    test::app();
    Submitted s;
    s.answer = QStringLiteral("Cannot reach the relay: group changes need a connection.");
    NewGroupDialog dialog("alice", recorder(s));
    dialog.fill(QStringLiteral(" Hikers "), QStringLiteral("bob,carol"));
    dialog.submit();
    CHECK(s.calls == 1);
    CHECK(s.name == QStringLiteral("Hikers"));
    CHECK(s.members == Names{"bob", "carol"});
    CHECK(dialog.error_text() == s.answer);
    CHECK(dialog.name_text() == QStringLiteral(" Hikers "));
    CHECK(dialog.result() != QDialog::Accepted);

    s.answer.clear();
    dialog.submit();
    CHECK(s.calls == 2);
    CHECK(dialog.waiting());
    CHECK(dialog.error_text().isEmpty());
    CHECK(dialog.result() != QDialog::Accepted);
}

TEST_CASE("the new group dialog waits for the relay and keeps the form when it refuses") {
    test::app();
    Submitted s;
    NewGroupDialog dialog("alice", recorder(s));
    dialog.fill(QStringLiteral("Hikers"), QStringLiteral("bob, ghost"));
    dialog.submit();
    REQUIRE(dialog.waiting());
    dialog.submit(); // locked while waiting
    CHECK(s.calls == 1);

    dialog.creation_refused(QStringLiteral("A member of the group has no account."));
    CHECK_FALSE(dialog.waiting());
    CHECK(dialog.error_text() == QStringLiteral("A member of the group has no account."));
    CHECK(dialog.name_text() == QStringLiteral("Hikers"));
    CHECK(dialog.members_text() == QStringLiteral("bob, ghost"));
    CHECK(dialog.result() != QDialog::Accepted);

    dialog.fill(QStringLiteral("Hikers"), QStringLiteral("bob"));
    dialog.submit();
    CHECK(s.calls == 2);
    dialog.creation_accepted();
    CHECK(dialog.result() == QDialog::Accepted);
}

} // namespace
} // namespace veil::desktop

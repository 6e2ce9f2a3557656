from commands import shell


def test_statements_split_on_semicolons_across_lines():
    lines = ["SELECT 1", "AS one;", "", "SELECT ';' AS semicolon;SHOW TABLES"]
    assert list(shell.statements(lines)) == ["SELECT 1\nAS one", "SELECT ';' AS semicolon", "SHOW TABLES"]

// A prepared statement as the stores declare it: its name on the connection and its SQL, side
// by side near the top of each store's file. Prepared statements belong to one connection, so a
// store prepares its list from the Worker's connect hook, on every (re)connect.
#pragma once

#include <initializer_list>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

namespace tigerfans::postgres {

struct Statement {
    const char* name;
    std::string_view sql;
};

// libpqxx sends each definition to the server on the statement's first use.
inline void prepare_all(pqxx::connection& connection, std::initializer_list<Statement> statements) {
    for (const Statement& statement : statements) {
        connection.prepare(statement.name, std::string(statement.sql));
    }
}

}  // namespace tigerfans::postgres

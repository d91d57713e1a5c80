using Akka.Actor;
using Liminal.Actors.Persistence;
using Microsoft.Data.Sqlite;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>Reads back what an entity saved to the SQLite snapshot store: the state it holds and recovers from.</summary>
public static class SnapshotReading
{
    /// <summary>The newest snapshot of <paramref name="persistenceId"/> with its sequence number, or null when none is stored.</summary>
    public static (long SequenceNr, T Snapshot)? Latest<T>(ActorSystem system, string databasePath, string persistenceId) where T : class
    {
        var path = SqlJournalConfig.SnapshotPathFor(databasePath);
        if (!File.Exists(path))
            return null;
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path }.ToString());
        connection.Open();
        using (var exists = connection.CreateCommand())
        {
            exists.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'snapshot'";
            if (Convert.ToInt64(exists.ExecuteScalar()) == 0)
                return null;
        }
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT sequence_number, snapshot, serializer_id, manifest FROM snapshot
            WHERE persistence_id = $id ORDER BY sequence_number DESC LIMIT 1
            """;
        command.Parameters.AddWithValue("$id", persistenceId);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
            return null;
        var bytes = (byte[])reader.GetValue(1);
        var snapshot = system.Serialization.Deserialize(bytes, reader.GetInt32(2), reader.GetString(3));
        return (reader.GetInt64(0), (T)snapshot);
    }
}

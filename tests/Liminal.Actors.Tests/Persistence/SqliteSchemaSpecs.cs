using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors.Channels;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;
using Microsoft.Data.Sqlite;

namespace Liminal.Actors.Tests.Persistence;

/// <summary>
/// The SQLite journal and snapshot store create the plugin's tables themselves (no linq2db at start-up): the schema
/// they create must be the one Akka.Persistence.Sql's auto-initialize creates, table for table, index for index.
/// </summary>
public sealed partial class SqliteSchemaSpecs : LiminalTestKit
{
    [Fact]
    public void The_tables_Liminal_creates_are_the_ones_the_plugins_auto_initialize_creates()
    {
        var ours = TestDatabase.NewPath();
        var plugins = TestDatabase.NewPath();
        StoreOneMessage(SqlJournalConfig.Sqlite(ours));
        StoreOneMessage(ConfigurationFactory.ParseString($"""
            akka.persistence.journal.sql.class = "{SqlJournalConfig.PluginJournalClass}"
            akka.persistence.snapshot-store.sql.class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
            """).WithFallback(SqlJournalConfig.Sqlite(plugins)));

        Assert.Equal(Schema(plugins), Schema(ours));
        Assert.Equal(Schema(SqlJournalConfig.SnapshotPathFor(plugins)), Schema(SqlJournalConfig.SnapshotPathFor(ours)));
        Assert.Contains(Schema(ours), s => s.StartsWith("table journal:"));
        Assert.Contains(Schema(SqlJournalConfig.SnapshotPathFor(ours)), s => s.StartsWith("table snapshot:"));
    }

    [Fact]
    public void A_database_whose_tables_exist_already_is_opened_as_it_is_and_keeps_its_messages()
    {
        var path = TestDatabase.NewPath();
        StoreOneMessage(SqlJournalConfig.Sqlite(path));
        var before = Schema(path);
        var count = StoreOneMessage(SqlJournalConfig.Sqlite(path));
        Assert.Equal(before, Schema(path));
        Assert.Equal(2, count);
    }

    /// <summary>Starts a bus on <paramref name="journal"/>, stores one message (both stores initialized), returns the partition's message count.</summary>
    private long StoreOneMessage(Config journal)
    {
        var system = ActorSystem.Create($"schema-{Guid.NewGuid():N}", ConfigurationFactory.ParseString("akka.loglevel = WARNING")
            .WithFallback(journal).WithFallback(LiminalSettings.DefaultConfig));
        try
        {
            var bus = LiminalBus.Start(system, DefaultSettings with { Channels = [new ChannelDefinition("c", Durable: true)] });
            var probe = CreateTestProbe(system);
            var ack = Ask<PublishAck>(bus.Channels, new Publish("c", new MessageEnvelope("{}"u8.ToArray(), "p")), probe);
            return ack.SequenceNr!.Value;
        }
        finally
        {
            Shutdown(system);
        }
    }

    /// <summary>Every table and index of the file, with its SQL whitespace-normalized and IF NOT EXISTS dropped.</summary>
    private static string[] Schema(string path)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name";
        using var reader = command.ExecuteReader();
        var schema = new List<string>();
        while (reader.Read())
        {
            var sql = Whitespace().Replace(reader.GetString(2).Replace(" IF NOT EXISTS", "", StringComparison.Ordinal), " ").Trim();
            schema.Add($"{reader.GetString(0)} {reader.GetString(1)}: {sql}");
        }
        return [.. schema];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}

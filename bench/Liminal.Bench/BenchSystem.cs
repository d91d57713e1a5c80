using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors;
using Liminal.Actors.Persistence;

namespace Liminal.Bench;

/// <summary>
/// An actor system journaling to a fresh SQLite file in WAL mode, the way the host runs, or to the PostgreSQL
/// database of <c>--postgres CONNECTION-STRING</c> (give each run a database of its own: ids repeat between runs).
/// </summary>
internal static class BenchSystem
{
    public static ActorSystem Create(string databasePath, string? extraHocon = null, string? postgreSql = null)
    {
        SqlJournalConfig.ReserveThreadsForBlockingIo();
        Console.WriteLine(postgreSql is null ? $"database: {databasePath} (SQLite, WAL)" : "database: PostgreSQL");
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\n" + extraHocon)
            .WithFallback(postgreSql is null ? SqlJournalConfig.Sqlite(databasePath) : SqlJournalConfig.PostgreSql(postgreSql))
            .WithFallback(LiminalSettings.DefaultConfig);
        return ActorSystem.Create("bench", config);
    }
}

using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors;
using Liminal.Actors.Persistence;

namespace Liminal.Bench;

/// <summary>An actor system journaling to a fresh SQLite file in WAL mode, the way the host runs.</summary>
internal static class BenchSystem
{
    public static ActorSystem Create(string databasePath, string? extraHocon = null)
    {
        SqlJournalConfig.ReserveThreadsForBlockingIo();
        Console.WriteLine($"database: {databasePath} (SQLite, WAL)");
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\n" + extraHocon)
            .WithFallback(SqlJournalConfig.Sqlite(databasePath))
            .WithFallback(LiminalSettings.DefaultConfig);
        return ActorSystem.Create("bench", config);
    }
}

using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors;
using Liminal.Actors.Channels;
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

    /// <summary>The durable channel of <c>publish</c> and <c>restart</c>: one partition.</summary>
    public const string Orders = "orders";

    /// <summary>
    /// Starts the bus with the <c>orders</c> channel and the <c>liminal</c> settings of the system's configuration,
    /// so <c>--hocon "liminal.dedup.shards = 16"</c> applies as well as <c>akka.*</c> settings.
    /// </summary>
    public static LiminalBus StartWithOrders(ActorSystem system) =>
        LiminalBus.Start(system, LiminalSettings.FromConfig(system.Settings.Config) with
        {
            Channels = [new ChannelDefinition(Orders, Durable: true)],
        });
}

using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors;
using Liminal.Actors.Dedup;
using Liminal.Actors.Persistence;

var path = Path.Combine(Path.GetTempPath(), $"startup-{Guid.NewGuid():N}.db");
for (var round = 0; round < 2; round++)
{
    var sw = Stopwatch.StartNew();
    var system = ActorSystem.Create("s", ConfigurationFactory.ParseString("akka.loglevel=INFO").WithFallback(SqlJournalConfig.Sqlite(path)).WithFallback(LiminalSettings.DefaultConfig));
    var bus = LiminalBus.Start(system, new LiminalSettings());
    var r = await bus.Dedup.Ask<object>(new ClaimOrGet("x" + round), TimeSpan.FromSeconds(60));
    Console.WriteLine($"round {round}: first reply {r} after {sw.ElapsedMilliseconds} ms");
    for (int i = 0; i < 64; i++) await bus.Dedup.Ask<object>(new LookupKey("y" + i), TimeSpan.FromSeconds(60));
    Console.WriteLine($"round {round}: 64 lookups after {sw.ElapsedMilliseconds} ms");
    await system.Terminate();
}

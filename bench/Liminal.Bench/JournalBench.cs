using Akka.Actor;

namespace Liminal.Bench;

/// <summary>How the SQLite journal's throughput depends on how many actors write to it at once.</summary>
internal static class JournalBench
{
    public static async Task RunAsync(BenchOptions options)
    {
        var clients = options.Int("clients", 1000);
        var events = options.Int("events", 100_000);
        var system = BenchSystem.Create(options.DatabasePath("journal"), options.Hocon, options.PostgreSql);
        try
        {
            Console.WriteLine($"raw journal, 1 actor PersistAsync, open loop: {await RawJournalBench.EventsPerSecondAsync(system, events),10:N0} events/s");
            foreach (var writers in new[] { 1, 8, 64, clients })
            {
                var rate = await RawJournalBench.ClosedLoopEventsPerSecondAsync(system, writers, clients, events);
                Console.WriteLine($"closed loop, {clients} clients over {writers,2} writing actors:   {rate,10:N0} events/s");
            }
        }
        finally
        {
            await system.Terminate();
        }
    }
}

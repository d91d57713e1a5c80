namespace Liminal.Bench;

/// <summary><c>dotnet run -c Release --project bench/Liminal.Bench -- &lt;workload&gt; [--option value ...]</c></summary>
internal static class BenchCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine("""
                usage: Liminal.Bench <workload> [options]
                workloads:
                  dedup   concurrent clients claim and complete distinct keys (plus a share of duplicates)
                          against SQLite on disk, beside the raw PersistAsync rate of the same database
                          --clients 1000  --claims 200000  --duplicates 0.1  --shards 8  --snapshot-every 10000  --db PATH
                          --postgres CONNECTION-STRING (a fresh database per run)
                  conversations  steps recorded/s across many conversations, and replay time of a long conversation
                          with and without a snapshot
                          --conversations 1000  --steps 60000  --replay-events 100000  --postgres CONNECTION-STRING
                  publish keyed publishes/s and publish->delivery latency, durable channel, 3 subscribers
                          --publishers 1000  --publishes 100000  --duplicates 0.1  --db PATH
                          --postgres CONNECTION-STRING (a fresh database per run)
                  consumers delivered+acked msgs/s of one durable consumer, then of a 3-member group, while 1000
                          publishers publish to a durable channel; the raw journal rate and the publish rate of the same
                          run beside them, and how long after publishing stops the consumer's lag is back to 0
                          --publishers 1000  --publishes 50000  --db PATH  --postgres CONNECTION-STRING
                  restart how soon a new process answers its first publish when one partition holds many messages:
                          fills a durable channel with keyed publishes, then per restart starts this bench again as a
                          child process that publishes a new key and re-publishes the fill's first key, and prints
                          when each was answered, counted from the child's process start
                          --messages 1000000  --publishers 200  --restarts 3  --db PATH  --postgres CONNECTION-STRING
                          --reuse  skip the fill when the database holds it already (same --db or --postgres, same
                                   --messages, within the dedup TTL of 24h)
                  journal the SQLite journal alone: open-loop PersistAsync, and closed-loop clients over 1, 8, 64 actors
                          --clients 1000  --events 100000  --db PATH
                every workload: --hocon HOCON  extra HOCON for the actor system (publish and restart read liminal.* from it too)
                """);
            return args.Length == 0 ? 1 : 0;
        }

        var options = BenchOptions.Parse(args.Skip(1).ToArray());
        try
        {
            return await RunWorkloadAsync(args[0], options);
        }
        finally
        {
            options.DeleteTemporaryDatabases();
        }
    }

    private static async Task<int> RunWorkloadAsync(string workload, BenchOptions options)
    {
        switch (workload)
        {
            case "dedup":
                await DedupBench.RunAsync(options);
                return 0;
            case "conversations":
                await ConversationsBench.RunAsync(options);
                return 0;
            case "publish":
                await PublishBench.RunAsync(options);
                return 0;
            case "consumers":
                await ConsumersBench.RunAsync(options);
                return 0;
            case "restart":
                await RestartBench.RunAsync(options);
                return 0;
            case RestartBench.ProbeWorkload:
                return await RestartBench.ProbeAsync(options);
            case "journal":
                await JournalBench.RunAsync(options);
                return 0;
            default:
                Console.Error.WriteLine($"unknown workload '{workload}'");
                return 1;
        }
    }
}

internal sealed class BenchOptions(Dictionary<string, string> values)
{
    public static BenchOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            // An option followed by another option (or by nothing) is a flag: --reuse.
            var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            values[args[i].TrimStart('-')] = hasValue ? args[++i] : "true";
        }
        return new BenchOptions(values);
    }

    /// <summary>Extra HOCON for the actor system (<c>--hocon "akka.persistence.journal.sql.batch-size = 500"</c>), to try a setting.</summary>
    public string? Hocon => values.GetValueOrDefault("hocon");

    /// <summary>An Npgsql connection string (<c>--postgres "Host=...;Database=..."</c>): run on PostgreSQL instead of SQLite.</summary>
    public string? PostgreSql => values.GetValueOrDefault("postgres");

    public bool Flag(string name) => values.TryGetValue(name, out var v) && !string.Equals(v, "false", StringComparison.OrdinalIgnoreCase);

    public string? Value(string name) => values.GetValueOrDefault(name);

    public int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v) : fallback;

    public double Double(string name, double fallback) =>
        values.TryGetValue(name, out var v) ? double.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    private readonly List<string> _temporaryDatabases = [];

    /// <summary>The <c>--db</c> file, else a fresh temporary one (deleted when the bench ends).</summary>
    public string DatabasePath(string workload)
    {
        if (values.TryGetValue("db", out var path))
            return path;
        path = Path.Combine(Path.GetTempPath(), "liminal-bench", $"{workload}-{Guid.NewGuid():N}.db");
        _temporaryDatabases.Add(path);
        return path;
    }

    public void DeleteTemporaryDatabases()
    {
        foreach (var file in _temporaryDatabases
                     .SelectMany(db => new[] { db, Liminal.Actors.Persistence.SqlJournalConfig.SnapshotPathFor(db) })
                     .SelectMany(db => new[] { db, db + "-wal", db + "-shm" }))
            File.Delete(file);
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using Akka.Actor;
using Liminal.Actors.Channels;

namespace Liminal.Bench;

/// <summary>
/// How soon a new process answers its first publish when one partition of a durable channel holds many messages.
/// Fills the channel in process, then starts the bench itself again once per restart (<c>restart-probe</c>): the
/// child publishes a new key and re-publishes the fill's first key and prints when each was answered, counted
/// from its process start, so runtime start-up, actor system start and recovery are all in the figure.
/// </summary>
internal static class RestartBench
{
    /// <summary>The hidden workload the child process runs.</summary>
    public const string ProbeWorkload = "restart-probe";

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromMinutes(10);

    public static async Task RunAsync(BenchOptions options)
    {
        var messages = options.Int("messages", 1_000_000);
        var publishers = options.Int("publishers", 200);
        var restarts = options.Int("restarts", 3);
        // Unused on PostgreSQL; the children get it all the same.
        var path = options.DatabasePath("restart");

        await FillAsync(options, path, messages, publishers);
        for (var restart = 1; restart <= restarts; restart++)
            await RunProbeProcessAsync(options, path, $"restart {restart}/{restarts}");
    }

    /// <summary>The key of the fill's <paramref name="n"/>-th message: the same in every run, so a filled database can be recognised.</summary>
    private static string FillKey(int n) => $"order-{n}";

    private static async Task FillAsync(BenchOptions options, string path, int messages, int publishers)
    {
        var system = BenchSystem.Create(path, options.Hocon, options.PostgreSql);
        try
        {
            var bus = BenchSystem.StartWithOrders(system);
            if (options.Flag("reuse") && await HoldsFillAsync(bus.Channels, messages))
                return;

            var outcomes = new ConcurrentDictionary<string, int>();
            var firstRejections = new ConcurrentDictionary<PublishFailure, string>();
            var progressStep = Math.Max(1, messages / 10);
            var next = -1;
            var answered = 0;
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, publishers).Select(_ => Task.Run(async () =>
            {
                int n;
                while ((n = Interlocked.Increment(ref next)) < messages)
                {
                    var reply = await PublishAsync(bus.Channels, FillKey(n), TimeSpan.FromSeconds(30));
                    if (reply is PublishRejected rejected && firstRejections.TryAdd(rejected.Reason, rejected.Detail))
                        Console.WriteLine($"fill: first {Describe(rejected)}");
                    outcomes.AddOrUpdate(Outcome(reply), 1, (_, count) => count + 1);
                    var done = Interlocked.Increment(ref answered);
                    if (done % progressStep == 0 && done < messages)
                        Console.WriteLine($"fill: {done:N0} of {messages:N0} answered, {done / stopwatch.Elapsed.TotalSeconds:N0}/s");
                }
            })));
            stopwatch.Stop();
            Console.WriteLine($"fill, {publishers} publishers, 1 partition: {messages / stopwatch.Elapsed.TotalSeconds,10:N0} keyed publishes/s " +
                              $"({messages:N0} in {stopwatch.Elapsed.TotalSeconds:F1} s; " +
                              string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value:N0}")) + ")");
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>
    /// Whether a previous fill of as many messages ran to its end: its last key answers as a duplicate. If it does not,
    /// that key is stored now, and the fill that follows answers it as a duplicate; the partition still holds each key once.
    /// </summary>
    private static async Task<bool> HoldsFillAsync(IActorRef channels, int messages)
    {
        var lastKey = FillKey(messages - 1);
        var stopwatch = Stopwatch.StartNew();
        var reply = await PublishAsync(channels, lastKey, ProbeTimeout);
        var held = reply is PublishAck { Duplicate: true, InFlight: false };
        Console.WriteLine($"reuse: the fill's last key {lastKey} answered after {stopwatch.Elapsed.TotalMilliseconds:N0} ms in process: " +
                          $"{Describe(reply)}; {(held ? "fill skipped" : "filling")}");
        return held;
    }

    /// <summary>Starts this bench again as <c>restart-probe</c> on the same database and prints its lines as they come.</summary>
    private static async Task RunProbeProcessAsync(BenchOptions options, string path, string label)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The apphost (Liminal.Bench, Liminal.Bench.exe) runs its assembly; "dotnet Liminal.Bench.dll" must be told it again.
        var entryAssembly = Assembly.GetEntryAssembly()!.Location;
        var appHost = Path.ChangeExtension(Path.GetFileName(entryAssembly), OperatingSystem.IsWindows() ? ".exe" : null);
        if (!string.Equals(Path.GetFileName(Environment.ProcessPath), appHost, StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(entryAssembly);
        foreach (var argument in new[] { ProbeWorkload, "--db", path, "--duplicate-key", FillKey(0) })
            start.ArgumentList.Add(argument);
        if (options.Hocon is { } hocon)
        {
            start.ArgumentList.Add("--hocon");
            start.ArgumentList.Add(hocon);
        }
        if (options.PostgreSql is { } postgreSql)
        {
            start.ArgumentList.Add("--postgres");
            start.ArgumentList.Add(postgreSql);
        }

        using var child = new Process { StartInfo = start };
        child.OutputDataReceived += (_, line) =>
        {
            if (line.Data is not null)
                Console.WriteLine($"{label}: {line.Data}");
        };
        child.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is not null)
                Console.WriteLine($"{label} (stderr): {line.Data}");
        };
        var stopwatch = Stopwatch.StartNew();
        child.Start();
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        await child.WaitForExitAsync();
        Console.WriteLine($"{label}: child exited with code {child.ExitCode} after {stopwatch.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// The child: starts the actor system and the bus, publishes a new key, then re-publishes <c>--duplicate-key</c>,
    /// and prints each answer with its time from process start. Exit code 3 when a publish got no answer.
    /// </summary>
    public static async Task<int> ProbeAsync(BenchOptions options)
    {
        var processStart = Process.GetCurrentProcess().StartTime;
        string SinceStart() => $"{(DateTime.Now - processStart).TotalMilliseconds:N0} ms after process start";

        var duplicateKey = options.Value("duplicate-key") ?? FillKey(0);
        var system = BenchSystem.Create(options.DatabasePath(ProbeWorkload), options.Hocon, options.PostgreSql);
        try
        {
            Console.WriteLine($"actor system created {SinceStart()}");
            var bus = BenchSystem.StartWithOrders(system);
            var answered = true;
            foreach (var (what, key) in new[] { ("new key", $"restart-probe-{Guid.NewGuid():N}"), ("re-published", duplicateKey) })
            {
                var sent = Stopwatch.StartNew();
                var reply = await PublishAsync(bus.Channels, key, ProbeTimeout);
                answered &= reply is not NoAnswer;
                Console.WriteLine($"{what} {key}: answered {SinceStart()} ({sent.Elapsed.TotalMilliseconds:N0} ms after sending): {Describe(reply)}");
            }
            return answered ? 0 : 3;
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static async Task<object> PublishAsync(IActorRef channels, string key, TimeSpan timeout)
    {
        var publish = new Publish(BenchSystem.Orders, new MessageEnvelope(Encoding.UTF8.GetBytes($$"""{"orderId":"{{key}}"}"""), "bench"), key);
        try
        {
            return await channels.Ask<object>(publish, timeout);
        }
        catch (AskTimeoutException)
        {
            return new NoAnswer(timeout);
        }
    }

    /// <summary>A publish the bus did not answer in time: counted and printed like any answer.</summary>
    private sealed record NoAnswer(TimeSpan Timeout);

    private static string Outcome(object reply) => reply switch
    {
        PublishAck { Duplicate: true } => "duplicate",
        PublishAck => "stored",
        PublishRejected rejected => $"rejected {rejected.Reason}",
        NoAnswer => "no answer",
        _ => reply.GetType().Name,
    };

    private static string Describe(object reply) => reply switch
    {
        PublishAck ack => $"PublishAck Duplicate {ack.Duplicate}, InFlight {ack.InFlight}, SequenceNr {ack.SequenceNr?.ToString() ?? "none"}, " +
                          $"partition {ack.Partition}, delivered to {ack.DeliveredCount}, receipt {Text(ack.Receipt?.Bytes)}",
        PublishRejected rejected => $"PublishRejected {rejected.Reason}: {rejected.Detail}",
        NoAnswer none => $"no answer within {none.Timeout.TotalSeconds:N0} s",
        _ => $"unexpected reply {reply}",
    };

    /// <summary>A receipt's bytes as the text they are today (JSON naming channel, partition and sequence number), else as base64.</summary>
    private static string Text(byte[]? bytes)
    {
        if (bytes is null)
            return "none";
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Convert.ToBase64String(bytes);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}

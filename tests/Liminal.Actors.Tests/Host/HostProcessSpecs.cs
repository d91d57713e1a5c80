using System.Diagnostics;
using System.Text;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Client;
using Xunit.Abstractions;

namespace Liminal.Actors.Tests.Host;

/// <summary>The host as a separate process, killed with SIGKILL mid-stream and restarted on the same data.</summary>
public sealed class HostProcessSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(LiminalClient.ClientConfig())
{
    private const int Keys = 5000;

    private sealed class HostProcess(string databasePath, int healthPort, int remotePort) : IDisposable
    {
        private Process? _process;

        public void Start()
        {
            var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Liminal.Host.dll")])
            {
                WorkingDirectory = Path.GetDirectoryName(databasePath)!,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["LIMINAL__JOURNAL__SQLITE_PATH"] = databasePath;
            start.Environment["LIMINAL__HOST__HEALTH_PORT"] = healthPort.ToString();
            start.Environment["LIMINAL__HOST__REMOTE__PORT"] = remotePort.ToString();
            start.Environment["LIMINAL__DEDUP__SHARDS"] = "8";
            _process = Process.Start(start)!;
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public async Task WaitUntilReadyAsync()
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}"), Timeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                try
                {
                    if ((await http.GetAsync("/ready")).IsSuccessStatusCode)
                        return;
                }
                catch (HttpRequestException) { }
                catch (TaskCanceledException) { }
                if (DateTime.UtcNow > deadline || _process!.HasExited)
                    throw new TimeoutException("the host did not become ready");
                await Task.Delay(100);   // polling a readiness endpoint, not waiting for a result
            }
        }

        /// <summary>SIGTERM: the host drains and stops; returns its exit code.</summary>
        public int Terminate()
        {
            using (var kill = Process.Start("kill", ["-TERM", _process!.Id.ToString()]))
                kill.WaitForExit();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
                throw new TimeoutException("the host did not stop after SIGTERM");
            return _process.ExitCode;
        }

        /// <summary>SIGKILL: no shutdown hooks, no drain.</summary>
        public void Kill()
        {
            _process!.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public void Dispose()
        {
            if (_process is { HasExited: false })
                Kill();
        }
    }

    private static string KeyOf(Delivery delivery) => OrderSchema.OrderIdOf(delivery);

    private static Publish Order(int i) =>
        new("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($$"""{"orderId":"k{{i}}","amount":{{i}}}"""), "e2e"), $"k{i}");

    [Fact]
    public async Task After_SIGKILL_every_acknowledged_message_is_stored_once_and_every_key_is_delivered_exactly_once()
    {
        var databasePath = TestDatabase.NewPath();
        Directory.CreateDirectory(Path.GetDirectoryName(databasePath)!);
        var (healthPort, remotePort) = (HostSpecs.FreePort(), HostSpecs.FreePort());
        var delivered = new List<string>();

        using (var host = new HostProcess(databasePath, healthPort, remotePort))
        {
            host.Start();
            await host.WaitUntilReadyAsync();
            var bus = await LiminalClient.ConnectAsync(Sys, "127.0.0.1", remotePort);
            var subscriber = CreateTestProbe();
            bus.Channels.Tell(new Subscribe("orders", subscriber.Ref), TestActor);
            ExpectMsg<Subscribed>(TimeSpan.FromSeconds(10));

            var publisher = CreateTestProbe();
            for (var i = 0; i < Keys; i++)
                bus.Channels.Tell(Order(i), publisher.Ref);
            var acked = publisher.ReceiveN(1, TimeSpan.FromSeconds(30)).Cast<PublishAck>().ToList();
            host.Kill();   // mid-stream: the other publishes are anywhere between claim and ack
            acked.AddRange(publisher.ReceiveWhile(TimeSpan.FromSeconds(1), m => m as PublishAck).OfType<PublishAck>());
            delivered.AddRange(subscriber.ReceiveWhile(TimeSpan.FromSeconds(1), m => m is Delivery d ? KeyOf(d) : null).OfType<string>());
            output.WriteLine($"before the kill: {acked.Count} acknowledged, {delivered.Count} delivered");

            host.Start();
            await host.WaitUntilReadyAsync();
            var recovered = await ConnectAfterRestartAsync(remotePort);

            // Every acknowledged message is in the log, and no message is there twice.
            var replay = CreateTestProbe();
            recovered.Channels.Tell(new Replay("orders", 0, 1, replay.Ref), replay.Ref);
            var stored = replay.ReceiveWhile(TimeSpan.FromSeconds(10), m => m as Delivery, msgs: Keys + 1).OfType<Delivery>().ToList();
            replay.ExpectMsg<ReplayCompleted>(TimeSpan.FromSeconds(10));
            var log = stored.Select(KeyOf).ToList();
            Assert.Equal(log.Count, log.Distinct().Count());
            var storedSequenceNrs = stored.Select(d => d.SequenceNr).ToHashSet();
            Assert.All(acked, ack => Assert.Contains(ack.SequenceNr, storedSequenceNrs));

            // The client re-publishes everything: nothing already stored is delivered again.
            var resubscriber = CreateTestProbe();
            recovered.Channels.Tell(new Subscribe("orders", resubscriber.Ref), TestActor);
            ExpectMsg<Subscribed>(TimeSpan.FromSeconds(10));
            var republisher = CreateTestProbe();
            for (var i = 0; i < Keys; i++)
                recovered.Channels.Tell(Order(i), republisher.Ref);
            var answers = republisher.ReceiveN(Keys, TimeSpan.FromSeconds(60)).Cast<PublishAck>().ToList();
            var redelivered = resubscriber.ReceiveWhile(TimeSpan.FromSeconds(2), m => m is Delivery d ? KeyOf(d) : null).OfType<string>().ToList();

            // Keys the killed process claimed but never stored are taken over and delivered now, exactly once.
            var orphaned = Enumerable.Range(0, Keys).Select(i => $"k{i}").Except(log).Except(redelivered).Count();
            output.WriteLine($"after the restart: log {log.Count}, re-publishes delivered {redelivered.Count}, " +
                             $"answered as duplicates {answers.Count(a => a.Duplicate && !a.InFlight)}, " +
                             $"in flight {answers.Count(a => a.InFlight)}, orphaned (claimed, never stored) {orphaned}");
            Assert.All(log, key => Assert.DoesNotContain(key, redelivered));
            Assert.Equal(delivered.Count, delivered.Distinct().Count());
            Assert.Equal(redelivered.Count, redelivered.Distinct().Count());
            Assert.All(delivered, key => Assert.Contains(key, log));
            Assert.Equal(0, orphaned);
            Assert.Equal(Keys, log.Count + redelivered.Count);
            host.Kill();
        }
    }

    private async Task<LiminalBus> ConnectAfterRestartAsync(int remotePort)
    {
        // The client may keep the old incarnation's address gated for a moment: retry until the new one answers.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return await LiminalClient.ConnectAsync(Sys, "127.0.0.1", remotePort, timeout: TimeSpan.FromSeconds(3));
            }
            catch (ActorNotFoundException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    [Fact]
    public async Task SIGTERM_lets_the_publishes_in_flight_finish_and_every_acknowledged_one_is_stored()
    {
        var databasePath = TestDatabase.NewPath();
        Directory.CreateDirectory(Path.GetDirectoryName(databasePath)!);
        var (healthPort, remotePort) = (HostSpecs.FreePort(), HostSpecs.FreePort());
        using var host = new HostProcess(databasePath, healthPort, remotePort);
        host.Start();
        await host.WaitUntilReadyAsync();
        var bus = await LiminalClient.ConnectAsync(Sys, "127.0.0.1", remotePort);

        var publisher = CreateTestProbe();
        for (var i = 0; i < Keys; i++)
            bus.Channels.Tell(Order(i), publisher.Ref);
        var replies = publisher.ReceiveN(1, TimeSpan.FromSeconds(30)).ToList();
        Assert.Equal(0, host.Terminate());
        replies.AddRange(publisher.ReceiveWhile(TimeSpan.FromSeconds(2), m => m));

        // Every answer is an ack or a typed refusal naming the shutdown; nothing else.
        Assert.All(replies, reply => Assert.True(
            reply is PublishAck || reply is PublishRejected { Reason: PublishFailure.ShuttingDown }, $"unexpected {reply}"));
        var acked = replies.OfType<PublishAck>().ToList();
        output.WriteLine($"SIGTERM: {acked.Count} acknowledged, {replies.OfType<PublishRejected>().Count()} refused as shutting down, " +
                         $"{Keys - replies.Count} unanswered (the connection closed)");

        host.Start();
        await host.WaitUntilReadyAsync();
        var recovered = await ConnectAfterRestartAsync(remotePort);
        var replay = CreateTestProbe();
        recovered.Channels.Tell(new Replay("orders", 0, 1, replay.Ref), replay.Ref);
        var stored = replay.ReceiveWhile(TimeSpan.FromSeconds(10), m => m as Delivery, msgs: Keys + 1).OfType<Delivery>().ToList();
        replay.ExpectMsg<ReplayCompleted>(TimeSpan.FromSeconds(10));
        var storedSequenceNrs = stored.Select(d => d.SequenceNr).ToHashSet();
        Assert.All(acked, ack => Assert.Contains(ack.SequenceNr, storedSequenceNrs));
    }
}

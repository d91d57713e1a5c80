using System.Text;
using Akka.Actor;
using Liminal.Actors.Conversations;
using Liminal.Actors.Tests.Host;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Client;
using Liminal.Host;
using Microsoft.Extensions.DependencyInjection;

namespace Liminal.Actors.Tests.Conversations;

/// <summary>A <see cref="StepRunner"/> in another process, talking to the host's conversations over Akka.Remote.</summary>
public sealed class RemoteStepRunnerSpecs() : Akka.TestKit.Xunit2.TestKit(LiminalClient.ClientConfig())
{
    private const string FrameSizeKey = "akka.remote.dot-netty.tcp.maximum-frame-size";

    [Fact]
    public async Task A_remote_runner_resumes_a_conversation_whose_whole_state_exceeds_the_remote_frame_size()
    {
        var remotePort = HostSpecs.FreePort();
        await using var host = LiminalHost.Build([
            "--liminal:journal:sqlite-path", TestDatabase.NewPath(),
            "--liminal:host:health-port", HostSpecs.FreePort().ToString(),
            "--liminal:host:remote:port", remotePort.ToString(),
        ]);
        await host.StartAsync();
        try
        {
            var conversations = (await LiminalClient.ConnectAsync(Sys, "127.0.0.1", remotePort)).Conversations;
            var hostSystem = host.Services.GetRequiredService<ActorSystem>();
            var frame = Math.Max(Sys.Settings.Config.GetByteSize(FrameSizeKey) ?? 0, hostSystem.Settings.Config.GetByteSize(FrameSizeKey) ?? 0);
            // Finished messages whose outputs (each well inside a frame) add up to twice the frame size.
            const int outputBytes = 16 * 1024;
            var finished = (int)(2 * frame / outputBytes) + 1;
            async Task<T> Ask<T>(object request) => await conversations.Ask<T>(request, TimeSpan.FromSeconds(10));
            for (var i = 0; i < finished; i++)
            {
                await Ask<RedeliveryDecision.Start>(new ReceiveMessage("orders", $"done-{i}"));
                await Ask<EventRecorded>(new RecordStepCompleted("orders", $"done-{i}", 0, new byte[outputBytes]));
                await Ask<EventRecorded>(new RecordProcessingFinished("orders", $"done-{i}"));
            }
            // A message whose runner recorded step 0 and then failed: its redelivery resumes at step 1.
            await Ask<RedeliveryDecision.Start>(new ReceiveMessage("orders", "m"));
            await Ask<EventRecorded>(new RecordStepCompleted("orders", "m", 0, "reserved"u8.ToArray()));
            await Ask<EventRecorded>(new RecordError("orders", "m", "charge failed"));
            var inputs = new List<string>();
            ConversationStep Step(string name) => (input, _) =>
            {
                lock (inputs)
                    inputs.Add(Encoding.UTF8.GetString(input));
                return Task.FromResult(Encoding.UTF8.GetBytes(name));
            };

            var outcome = await new StepRunner(conversations, TimeSpan.FromSeconds(10))
                .RunAsync("orders", "m", "order"u8.ToArray(), [Step("reserved"), Step("charged")]);

            var done = Assert.IsType<StepRunOutcome.Finished>(outcome);
            Assert.Equal((1, "charged"), (done.StepsRun, Encoding.UTF8.GetString(done.Output)));
            lock (inputs)
                Assert.Equal(["reserved"], inputs);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}

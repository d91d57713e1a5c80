using System.Diagnostics;
using Liminal.Actors.Channels;
using Liminal.Actors.Entities;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Channels;

/// <summary>
/// Issue 13, item 4: a client chooses the schema path of <c>CreateChannel</c>. On f8113fc the registry opened it on its
/// own thread, and opening a FIFO blocks until a writer comes: every request to every channel waited with it.
/// </summary>
public sealed class ChannelSchemaLoadSpecs : FaultInjectionTestKit
{
    [SkippableFact]
    public void CreateChannel_with_a_FIFO_as_schema_is_rejected_typed_and_other_channels_are_served_meanwhile()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "needs mkfifo");
        var fifo = Path.Combine(Path.GetTempPath(), "liminal-tests", $"schema-{Guid.NewGuid():N}.fifo");
        Directory.CreateDirectory(Path.GetDirectoryName(fifo)!);
        using (var mkfifo = Process.Start("mkfifo", fifo))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        var channels = Sys.ActorOf(ChannelRegistry.Props(
            [(new ChannelDefinition("orders", Durable: false), ChannelSchema.AnyJson)],
            new PartitionSettings(TimeSpan.FromHours(24), 250_000, 1_000, Clock),
            EntityParentSettings.Default,
            schemaLoadTimeout: TimeSpan.FromSeconds(1)));
        try
        {
            var creator = CreateTestProbe();
            channels.Tell(new CreateChannel(new ChannelDefinition("fifo", Durable: false, fifo)), creator.Ref);

            // Sent after it: answered while the FIFO still has no writer.
            var ack = Ask<PublishAck>(channels, new Publish("orders", new MessageEnvelope("{}"u8.ToArray(), "shop")));
            Assert.Equal("orders", ack.Channel);

            var rejected = creator.ExpectMsg<ChannelRejected>(TimeSpan.FromSeconds(30));
            Assert.Equal("fifo", rejected.Channel);
            Assert.Contains("could not be read within", rejected.Reason);
            Assert.DoesNotContain("fifo", Ask<ChannelList>(channels, GetChannels.Instance).Names);
            // The name is free again: the rejected creation left nothing behind.
            Assert.Equal("fifo", Ask<ChannelCreated>(channels, new CreateChannel(new ChannelDefinition("fifo", Durable: false))).Channel);
        }
        finally
        {
            // A writer (read-write never blocks on a FIFO) ends the read that is still waiting for one.
            using (new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite)) { }
            File.Delete(fifo);
        }
    }
}

using System.Text;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Validation;
using Liminal.Client;
using Liminal.Host;
using Microsoft.AspNetCore.Builder;

namespace Liminal.Actors.Tests.Host;

/// <summary>One standalone host (SQLite on disk, default limits) for every spec of <see cref="RemoteInputSpecs"/>.</summary>
public sealed class RemoteHostFixture : IAsyncLifetime
{
    private WebApplication? _host;

    public int RemotePort { get; } = HostSpecs.FreePort();

    public async Task InitializeAsync()
    {
        _host = LiminalHost.Build([
            "--liminal:journal:sqlite-path", TestDatabase.NewPath(),
            "--liminal:host:health-port", HostSpecs.FreePort().ToString(),
            "--liminal:host:remote:port", RemotePort.ToString(),
        ]);
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_host is null)
            return;
        await _host.StopAsync();
        await _host.DisposeAsync();
    }
}

/// <summary>
/// Issue 13, items 1, 6 and 7 (and 9's subscriber) through a real Akka.Remote client: what a remote client sends is
/// validated like what an in-process one sends, every request is answered (none is dropped by the transport), and the
/// largest payload the bus takes crosses the wire both ways. "Through the guard" is <see cref="LiminalClient.ConnectAsync"/>'s
/// bus; "raw" is the host's actor resolved by path, what a client that does not use Liminal.Client talks to.
/// </summary>
public sealed class RemoteInputSpecs(RemoteHostFixture host) : Akka.TestKit.Xunit2.TestKit(LiminalClient.ClientConfig()), IClassFixture<RemoteHostFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private Task<LiminalBus> ConnectAsync() => LiminalClient.ConnectAsync(Sys, "127.0.0.1", host.RemotePort);

    private async Task<IActorRef> RawAsync(string name) =>
        await Sys.ActorSelection($"akka.tcp://{LiminalClient.HostSystemName}@127.0.0.1:{host.RemotePort}/user/{name}").ResolveOne(Patience);

    private T Ask<T>(IActorRef target, object request)
    {
        target.Tell(request, TestActor);
        return ExpectMsg<T>(Patience);
    }

    private string CreateChannel(LiminalBus bus, string? schemaPath = null)
    {
        var name = $"c{Guid.NewGuid():N}";
        Ask<ChannelCreated>(bus.Channels, new CreateChannel(new ChannelDefinition(name, Durable: true, schemaPath)));
        return name;
    }


    // Item 1.
    [Fact]
    public async Task Invalid_UTF8_in_a_payload_from_a_remote_client_is_a_SchemaMismatch_and_the_channel_keeps_its_subscriber()
    {
        var bus = await ConnectAsync();
        foreach (var channel in new[] { CreateChannel(bus, OrderSchema.FilePath), CreateChannel(bus) })
        {
            var subscriber = CreateTestProbe();
            Ask<Subscribed>(bus.Channels, new Subscribe(channel, subscriber.Ref));

            var rejected = Ask<PublishRejected>(bus.Channels, new Publish(channel, new MessageEnvelope([0x22, 0xFF, 0x22], "remote")));
            var ack = Ask<PublishAck>(bus.Channels, new Publish(channel, new MessageEnvelope(OrderSchema.Order("o1"), "remote")));

            Assert.Equal(PublishFailure.SchemaMismatch, rejected.Reason);
            Assert.Equal((1L, 1), (ack.SequenceNr, ack.DeliveredCount));
            Assert.Equal("o1", OrderSchema.OrderIdOf(subscriber.ExpectMsg<Delivery>(Patience)));
        }
    }

    // Item 6.
    [Fact]
    public async Task A_200_KB_payload_crosses_to_the_bus_and_back_to_a_remote_subscriber()
    {
        var bus = await ConnectAsync();
        var channel = CreateChannel(bus);
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe(channel, subscriber.Ref));
        var payload = Payloads.JsonOfSize(200_000);

        var ack = Ask<PublishAck>(bus.Channels, new Publish(channel, new MessageEnvelope(payload, "remote")));

        Assert.Equal((true, 1), (ack.Delivered, ack.DeliveredCount));
        Assert.Equal(payload, subscriber.ExpectMsg<Delivery>(Patience).Envelope.Payload);
    }

    [Fact]
    public async Task A_10_MB_publish_from_a_remote_client_is_answered_PayloadTooLarge_and_one_just_over_the_limit_too()
    {
        var bus = await ConnectAsync();
        var channel = CreateChannel(bus);

        var huge = Ask<PublishRejected>(bus.Channels, new Publish(channel, new MessageEnvelope(Payloads.JsonOfSize(10 * 1024 * 1024), "remote")));
        // Sent without the client's guard, a payload just over the limit still fits a frame: the bus itself refuses it.
        var justOver = Ask<PublishRejected>(await RawAsync(LiminalActorNames.Channels),
            new Publish(channel, new MessageEnvelope(Payloads.JsonOfSize(InputRules.DefaultMaxPayloadBytes + 1), "remote")));

        Assert.Equal(PublishFailure.PayloadTooLarge, huge.Reason);
        Assert.Equal(PublishFailure.PayloadTooLarge, justOver.Reason);
        Assert.Contains($"at most {InputRules.DefaultMaxPayloadBytes}", justOver.Detail);
        // Nothing was stored: the first message stored now is number 1.
        Assert.Equal(1, Ask<PublishAck>(bus.Channels, new Publish(channel, new MessageEnvelope("{}"u8.ToArray(), "remote"))).SequenceNr);
    }

    [Fact]
    public async Task A_remote_runner_records_a_step_output_of_the_largest_size_and_reads_its_conversation_back()
    {
        var bus = await ConnectAsync();
        var conversation = $"c{Guid.NewGuid():N}";
        var output = new byte[InputRules.DefaultMaxPayloadBytes];
        Random.Shared.NextBytes(output);

        Ask<RedeliveryDecision.Start>(bus.Conversations, new ReceiveMessage(conversation, "m"));
        Ask<EventRecorded>(bus.Conversations, new RecordStepCompleted(conversation, "m", 0, output));
        var state = Ask<ConversationSnapshot>(bus.Conversations, new GetConversationState(conversation));
        var tooLarge = Ask<ConversationRejected>(bus.Conversations, new RecordStepCompleted(conversation, "m", 1, new byte[output.Length + 1]));
        var tooLargeRaw = Ask<ConversationRejected>(await RawAsync(LiminalActorNames.Conversations),
            new RecordStepCompleted(conversation, "m", 1, new byte[output.Length + 1]));

        Assert.Equal(output, Assert.Single(state.CompletedSteps).Output);
        Assert.Equal(ConversationRejections.InvalidOutput, tooLarge.Reason);
        Assert.Equal(ConversationRejections.InvalidOutput, tooLargeRaw.Reason);
        // An error ends the delivery's lease, so the redelivery resumes after the stored step at once.
        Ask<EventRecorded>(bus.Conversations, new RecordError(conversation, "m", "runner stopped"));
        Assert.Equal(new RedeliveryDecision.ResumeFrom(1), Ask<RedeliveryDecision>(bus.Conversations, new ReceiveMessage(conversation, "m")));
    }

    [Fact]
    public async Task A_conversation_state_larger_than_a_frame_is_refused_typed_to_a_remote_caller_who_still_reads_each_step_output()
    {
        var bus = await ConnectAsync();
        var raw = await RawAsync("liminal-conversations");
        var conversation = $"c{Guid.NewGuid():N}";
        // Three unfinished messages whose outputs, each well within a frame, together exceed one.
        var outputs = Enumerable.Range(0, 3).Select(_ => new byte[200 * 1024]).ToList();
        foreach (var output in outputs)
            Random.Shared.NextBytes(output);
        for (var i = 0; i < outputs.Count; i++)
        {
            Ask<RedeliveryDecision.Start>(bus.Conversations, new ReceiveMessage(conversation, $"m{i}"));
            Ask<EventRecorded>(bus.Conversations, new RecordStepCompleted(conversation, $"m{i}", 0, outputs[i]));
        }

        // Akka.Remote would drop the state (over its frame) and answer nobody: the caller is told, typed, at once.
        foreach (var conversations in new[] { bus.Conversations, raw })
        {
            var refused = Ask<ConversationRejected>(conversations, new GetConversationState(conversation));
            Assert.Equal((ConversationRejections.StateTooLarge, conversation), (refused.Reason, refused.ConversationId));
        }
        // What a remote StepRunner reads to resume crosses the wire, and the conversation goes on.
        for (var i = 0; i < outputs.Count; i++)
            Assert.Equal(outputs[i], Ask<StepOutput>(raw, new GetStepOutput(conversation, $"m{i}", 0)).Output);
        Ask<EventRecorded>(bus.Conversations, new RecordError(conversation, "m0", "runner stopped"));
        Assert.Equal(new RedeliveryDecision.ResumeFrom(1), Ask<RedeliveryDecision>(bus.Conversations, new ReceiveMessage(conversation, "m0")));
    }

    // Item 7.
    [Fact]
    public async Task An_id_with_a_lone_surrogate_from_a_remote_client_is_rejected_not_taken_as_U_FFFD()
    {
        var bus = await ConnectAsync();
        var raw = await RawAsync(LiminalActorNames.Conversations);
        var conversation = $"c{Guid.NewGuid():N}";

        var guarded = Ask<ConversationRejected>(bus.Conversations, new ReceiveMessage(conversation + "\uD800", "m"));
        var unguarded = Ask<ConversationRejected>(raw, new ReceiveMessage(conversation + "\uD800", "m"));
        var messageId = Ask<ConversationRejected>(raw, new ReceiveMessage(conversation, "m\uDC00"));

        Assert.Equal(ConversationRejections.InvalidConversationId, guarded.Reason);
        Assert.Equal((ConversationRejections.InvalidConversationId, conversation + "\uD800"), (unguarded.Reason, unguarded.ConversationId));
        Assert.Equal((ConversationRejections.InvalidMessageId, "m\uDC00"), (messageId.Reason, messageId.MessageId));
        // Nothing was received under the U+FFFD spelling.
        Ask<RedeliveryDecision.Start>(raw, new ReceiveMessage(conversation + "\uFFFD", "m"));
    }

    // Item 9.
    [Fact]
    public async Task A_remote_client_cannot_subscribe_dead_letters_and_a_publish_then_counts_no_delivery()
    {
        var bus = await ConnectAsync();
        var channel = CreateChannel(bus);

        Assert.Contains("no live actor", Ask<ChannelRejected>(bus.Channels, new Subscribe(channel, Sys.DeadLetters)).Reason);
        // Unguarded, the bus receives a ref to the client's dead letters.
        Assert.Contains("no live actor", Ask<ChannelRejected>(await RawAsync(LiminalActorNames.Channels), new Subscribe(channel, Sys.DeadLetters)).Reason);

        var ack = Ask<PublishAck>(bus.Channels, new Publish(channel, new MessageEnvelope("{}"u8.ToArray(), "remote")));
        Assert.Equal((false, 0), (ack.Delivered, ack.DeliveredCount));
    }
}

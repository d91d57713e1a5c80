using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Validation;

namespace Liminal.Actors.Tests.Validation;

/// <summary>
/// Issue 13, items 1, 5, 6, 7, 9 and 10, in process (on SQLite on disk): ids, keys, names and payloads are validated
/// where they enter, every malformed request gets a typed rejection, nothing is stored for it, and the actor that
/// refused it goes on serving (with its subscribers). The remote halves are in <c>Host/RemoteInputSpecs</c>.
/// </summary>
public sealed class InputValidationSpecs : LiminalTestKit
{
    private static readonly byte[] InvalidUtf8InAJsonString = [0x22, 0xFF, 0x22];

    private LiminalBus StartBus(int maxPayloadBytes = InputRules.DefaultMaxPayloadBytes) =>
        LiminalBus.Start(Sys, DefaultSettings with
        {
            MaxPayloadBytes = maxPayloadBytes,
            Channels =
            [
                new ChannelDefinition("orders", Durable: true, OrderSchema.FilePath),
                new ChannelDefinition("raw", Durable: true),
                new ChannelDefinition("pings", Durable: false),
            ],
        });

    private static Publish Publish(string channel, byte[] payload) => new(channel, new MessageEnvelope(payload, "shop"));


    // Item 1.
    [Theory]
    [InlineData("orders")]
    [InlineData("raw")]
    [InlineData("pings")]
    public void Invalid_UTF8_inside_a_JSON_string_is_a_SchemaMismatch_and_the_channel_keeps_its_subscribers(string channel)
    {
        var bus = StartBus();
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe(channel, subscriber.Ref));

        var rejected = Ask<PublishRejected>(bus.Channels, Publish(channel, InvalidUtf8InAJsonString));

        Assert.Equal(PublishFailure.SchemaMismatch, rejected.Reason);
        Assert.Contains("UTF-8", rejected.Detail);
        // The router did not crash: the subscriber it had is still there.
        var ack = Ask<PublishAck>(bus.Channels, Publish(channel, OrderSchema.Order("o1")));
        Assert.Equal((true, 1), (ack.Delivered, ack.DeliveredCount));
        Assert.Equal("o1", OrderSchema.OrderIdOf(subscriber.ExpectMsg<Delivery>()));
        Assert.Equal(channel == "pings" ? 0 : 1, JournalRows($"channel-{channel}-"));
    }

    [Fact]
    public void A_payload_the_JSON_parser_refuses_to_nest_is_a_SchemaMismatch_too()
    {
        var bus = StartBus();

        var deep = Encoding.UTF8.GetBytes(new string('[', 10_000) + new string(']', 10_000));

        Assert.Equal(PublishFailure.SchemaMismatch, Ask<PublishRejected>(bus.Channels, Publish("orders", deep)).Reason);
        Assert.Equal(PublishFailure.SchemaMismatch, Ask<PublishRejected>(bus.Channels, Publish("raw", deep)).Reason);
        Assert.Equal(0, JournalRows("channel-"));
    }

    // Item 5.
    [Fact]
    public void Conversation_ids_x_with_a_lone_surrogate_and_x_with_U_FFFD_never_meet_in_one_actor()
    {
        var conversations = StartBus().Conversations;

        var loneSurrogate = Ask<ConversationRejected>(conversations, new ReceiveMessage("x\uD800", "m"));
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("x\uFFFD", "m"));
        var again = Ask<ConversationRejected>(conversations, new ReceiveMessage("x\uD800", "m"));

        Assert.Equal(ConversationRejections.InvalidConversationId, loneSurrogate.Reason);
        Assert.Contains("unpaired surrogate", loneSurrogate.Detail);
        Assert.Equal((ConversationRejections.InvalidConversationId, "x\uD800"), (again.Reason, again.ConversationId));
        // The region still routes, and "x\uFFFD" is a conversation of its own (its "m" is still leased by the Start).
        Assert.IsType<RedeliveryDecision.InProgress>(Ask<RedeliveryDecision>(conversations, new ReceiveMessage("x\uFFFD", "m")));
        Assert.Equal(["m"], Ask<ConversationSnapshot>(conversations, new GetConversationState("x\uFFFD")).Received);
        Assert.Equal(1, JournalRows("conversation-"));
    }

    // Item 6.
    [Fact]
    public void A_payload_over_max_payload_bytes_is_PayloadTooLarge_and_nothing_is_stored()
    {
        var bus = StartBus(maxPayloadBytes: 4096);
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("raw", subscriber.Ref));

        var atTheLimit = Ask<PublishAck>(bus.Channels, Publish("raw", Payloads.JsonOfSize(4096)));
        var over = Ask<PublishRejected>(bus.Channels, Publish("raw", Payloads.JsonOfSize(4097)));
        var overEphemeral = Ask<PublishRejected>(bus.Channels, Publish("pings", Payloads.JsonOfSize(4097)));

        Assert.Equal((1L, 1), (atTheLimit.SequenceNr, atTheLimit.DeliveredCount));
        Assert.Equal(4096, subscriber.ExpectMsg<Delivery>().Envelope.Payload.Length);
        Assert.Equal(PublishFailure.PayloadTooLarge, over.Reason);
        Assert.Contains("4097 bytes; at most 4096", over.Detail);
        Assert.Equal(PublishFailure.PayloadTooLarge, overEphemeral.Reason);
        Assert.Equal(1, JournalRows("channel-"));
        // Nothing was delivered for the rejected one: the next delivery is the next stored message.
        Ask<PublishAck>(bus.Channels, Publish("raw", "{}"u8.ToArray()));
        Assert.Equal(2, subscriber.ExpectMsg<Delivery>().SequenceNr);
    }

    [Fact]
    public void PayloadTooLarge_is_the_last_member_of_PublishFailure_so_older_numbers_keep_their_meaning()
    {
        // The wire carries enums as numbers: members are only ever appended.
        Assert.Equal(
            ["UnknownChannel", "SchemaMismatch", "InvalidKey", "PersistFailed", "DeliveryFailed", "Overloaded", "ShuttingDown", "PayloadTooLarge"],
            Enum.GetNames<PublishFailure>());
        Assert.Equal(7, (int)PublishFailure.PayloadTooLarge);
        var rejected = new PublishRejected("raw", PublishFailure.PayloadTooLarge, "too large");
        var serializer = Sys.Serialization.FindSerializerFor(rejected);
        Assert.Contains("\"reason\":7", Encoding.UTF8.GetString(serializer.ToBinary(rejected)));
    }

    [Fact]
    public void A_step_output_or_an_error_over_max_payload_bytes_is_rejected_typed_and_not_stored()
    {
        var conversations = StartBus(maxPayloadBytes: 4096).Conversations;
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "m"));

        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "m", 0, new byte[4096]));
        var output = Ask<ConversationRejected>(conversations, new RecordStepCompleted("c", "m", 1, new byte[4097]));
        var error = Ask<ConversationRejected>(conversations, new RecordError("c", "m", new string('e', 4097)));

        Assert.Equal(ConversationRejections.InvalidOutput, output.Reason);
        Assert.Contains("4097 bytes; at most 4096", output.Detail);
        Assert.Equal(ConversationRejections.InvalidError, error.Reason);
        Assert.Equal(2, JournalRows("conversation-c"));
        // What a resuming runner reads stays within one payload of the limit.
        Assert.Equal([4096], Ask<ConversationSnapshot>(conversations, new GetConversationState("c")).CompletedSteps.Select(s => s.Output.Length));
    }

    [Fact]
    public void The_bus_refuses_to_start_on_a_remote_actor_system_whose_frame_cannot_carry_its_largest_payload()
    {
        var remote = ActorSystem.Create($"remote-{Guid.NewGuid():N}", ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            """).WithFallback(Sys.Settings.Config));
        try
        {
            var error = Assert.Throws<LiminalConfigurationException>(() => LiminalBus.Start(remote, DefaultSettings));

            Assert.Contains(error.Problems, p => p.StartsWith(WireFrame.MaximumFrameSizeKey) && p.Contains($"needs {WireFrame.SizeFor(InputRules.DefaultMaxPayloadBytes)}"));
        }
        finally
        {
            Shutdown(remote);
        }
    }

    // Item 7 (in process; on PostgreSQL: PostgreSqlInputSpecs).
    // Not [InlineData]: xunit's serialization of theory data turns a lone surrogate into U+FFFD.
    [Fact]
    public void An_id_that_cannot_be_part_of_a_persistence_id_is_rejected_and_the_next_request_is_answered()
    {
        var bus = StartBus();

        foreach (var id in new[] { "c\0", "c\u0001", "c\u009F", "c\uDC00", "\uD800c" })
        {
            Assert.Equal(ConversationRejections.InvalidConversationId, Ask<ConversationRejected>(bus.Conversations, new ReceiveMessage(id, "m")).Reason);
            Assert.Contains("consumer", Ask<OffsetRequestRejected>(bus.Offsets, new CommitOffset(id, "s", 1)).Reason);
            Assert.Contains("pipeline", Ask<OffsetRequestRejected>(bus.Offsets, new RecordProcessed(id, "e")).Reason);
        }

        Ask<RedeliveryDecision.Start>(bus.Conversations, new ReceiveMessage("c", "m"));
        Ask<OffsetCommitted>(bus.Offsets, new CommitOffset("c", "s", 1));
        Assert.Equal(1, JournalRows("conversation-"));
        Assert.Equal(1, JournalRows("offsets-"));
    }

    [Fact]
    public void Ids_are_as_long_as_the_persistence_id_allows_after_their_prefix_and_no_longer()
    {
        var bus = StartBus();
        var conversation = new string('c', 255 - "conversation-".Length);
        var consumer = new string('o', 255 - "offsets-".Length);

        Ask<RedeliveryDecision.Start>(bus.Conversations, new ReceiveMessage(conversation, "m"));
        Ask<OffsetCommitted>(bus.Offsets, new CommitOffset(consumer, "s", 1));
        Ask<ConversationRejected>(bus.Conversations, new ReceiveMessage(conversation + "c", "m"));
        Ask<OffsetRequestRejected>(bus.Offsets, new CommitOffset(consumer + "o", "s", 1));

        Assert.Equal(1, JournalRows("conversation-"));
        Assert.Equal(1, JournalRows("offsets-"));
    }

    /// <summary>
    /// f8113fc hashed a partition key into a stack buffer of 3,072 bytes: a longer key crashed the router (every
    /// subscriber lost) and left a keyed publish in flight <c>InFlight</c> for good.
    /// </summary>
    [Theory]
    [InlineData("raw")]
    [InlineData("pings")]
    public void A_partition_key_over_the_key_limit_is_InvalidKey_and_the_channel_keeps_serving_its_subscriber(string channel)
    {
        var bus = StartBus();
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe(channel, subscriber.Ref));

        foreach (var partitionKey in new[] { new string('p', 4_000), new string('é', InputRules.MaxKeyBytes / 2 + 1), new string('€', 1_100) })
        {
            var rejected = Ask<PublishRejected>(bus.Channels, new Publish(channel, new MessageEnvelope("{}"u8.ToArray(), "shop"), "k1") { PartitionKey = partitionKey });
            Assert.Equal(PublishFailure.InvalidKey, rejected.Reason);
            Assert.Contains("partition key", rejected.Detail);
        }
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, JournalRows("channel-"));

        // The key the rejected publishes carried is not taken; the limit itself is accepted.
        var ack = Ask<PublishAck>(bus.Channels, new Publish(channel, new MessageEnvelope("{}"u8.ToArray(), "shop"), "k1") { PartitionKey = new string('p', InputRules.MaxKeyBytes) });
        Assert.Equal((false, false, 1), (ack.Duplicate, ack.InFlight, ack.DeliveredCount));
        Assert.Equal(ack.Partition, subscriber.ExpectMsg<Delivery>().Partition);
    }

    [Fact]
    public void Keys_and_stored_ids_with_a_lone_surrogate_are_refused_and_control_characters_in_keys_are_remembered_exactly()
    {
        var bus = StartBus();

        Assert.Equal(DedupRejection.InvalidKey, Ask<DedupRejected>(bus.Dedup, new ClaimOrComplete("k\uD800", new ProcessingReceipt([1]))).Reason);
        Assert.Equal(PublishFailure.InvalidKey, Ask<PublishRejected>(bus.Channels, new Publish("raw", new MessageEnvelope("{}"u8.ToArray(), "shop"), "k\uD800")).Reason);
        Assert.Equal(PublishFailure.SchemaMismatch, Ask<PublishRejected>(bus.Channels, Publish("raw", "{}"u8.ToArray()) with
        {
            Envelope = new MessageEnvelope("{}"u8.ToArray(), "shop\uDBFF"),
        }).Reason);
        Assert.Equal(0, JournalRows("dedup-") + JournalRows("channel-"));

        // A key is stored inside its event (JSON escapes control characters), so it comes back exactly after a restart.
        Ask<IdempotencyResult.New>(bus.Dedup, new ClaimOrComplete("k\0\u0001\n", new ProcessingReceipt([1])));
        Shutdown(Sys);
        var restarted = StartSystemOnSameDatabase();
        try
        {
            var dedup = LiminalBus.Start(restarted, DefaultSettings).Dedup;
            var probe = CreateTestProbe(restarted);
            Assert.Equal(new IdempotencyResult.Duplicate(new ProcessingReceipt([1])),
                Ask<IdempotencyResult>(dedup, new ClaimOrComplete("k\0\u0001\n", new ProcessingReceipt([2])), probe));
            Assert.Null(Ask<KeyStatus>(dedup, new LookupKey("k\0\u0001"), probe).Decision);
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public void A_lone_surrogate_crosses_the_wire_unchanged_so_the_bus_rejects_it_instead_of_taking_U_FFFD()
    {
        var request = new ReceiveMessage("x\uD800", "m\uDFFF");
        var serializer = Sys.Serialization.FindSerializerFor(request);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, request);

        var copy = Sys.Serialization.Deserialize(serializer.ToBinary(request), serializer.Identifier, manifest);
        // A client that is not .NET may send bytes that are not UTF-8 at all: they arrive as lone surrogates too.
        var notUtf8 = (ReceiveMessage)Sys.Serialization.Deserialize(
            [.. """{"conversationId":"x"""u8, 0xFF, .. "\",\"messageId\":\"m\"}"u8], serializer.Identifier, manifest);

        Assert.Equal(request, copy);
        Assert.Equal("x\uDCFF", notUtf8.ConversationId);
        var conversations = StartBus().Conversations;
        Assert.Equal(ConversationRejections.InvalidConversationId, Ask<ConversationRejected>(conversations, copy).Reason);
        Assert.Equal(ConversationRejections.InvalidConversationId, Ask<ConversationRejected>(conversations, notUtf8).Reason);
        Assert.Equal(0, JournalRows("conversation-"));
    }

    // Item 9.
    [Fact]
    public void Replay_starts_at_1_or_later_and_its_LastSequenceNr_is_never_past_the_stored_log()
    {
        var bus = StartBus();
        var subscriber = CreateTestProbe();
        Ask<PublishAck>(bus.Channels, Publish("raw", "{}"u8.ToArray()));

        foreach (var from in new[] { -5L, 0L, long.MinValue })
            Assert.Contains("sequence number of 1 or more", Ask<ChannelRejected>(bus.Channels, new Replay("raw", 0, from, subscriber.Ref)).Reason);
        ReplayCompleted Replay(long from)
        {
            bus.Channels.Tell(new Replay("raw", 0, from, subscriber.Ref), subscriber.Ref);
            return subscriber.ExpectMsg<ReplayCompleted>();
        }

        Assert.Equal(1, Replay(100).LastSequenceNr);
        Assert.Equal(1, Replay(long.MaxValue).LastSequenceNr);
        Assert.Equal(1, Replay(2).LastSequenceNr);
        bus.Channels.Tell(new Replay("raw", 0, 1, subscriber.Ref), subscriber.Ref);
        Assert.Equal(1, subscriber.ExpectMsg<Delivery>().SequenceNr);
        Assert.Equal(new ReplayCompleted("raw", 0, 1), subscriber.ExpectMsg<ReplayCompleted>());
        bus.Channels.Tell(new Replay("orders", 0, 1, subscriber.Ref), subscriber.Ref);
        Assert.Equal(new ReplayCompleted("orders", 0, 0), subscriber.ExpectMsg<ReplayCompleted>());
    }

    [Fact]
    public void Dead_letters_Nobody_and_unresolvable_paths_cannot_subscribe_and_never_count_as_delivered()
    {
        var bus = StartBus();
        var unresolvable = ((ExtendedActorSystem)Sys).Provider.ResolveActorRef($"akka://{Sys.Name}/user/no-such-subscriber");
        // What a remote client's subscriber path that does not parse becomes on the bus.
        var subscribe = new Subscribe("raw", TestActor);
        var serializer = Sys.Serialization.FindSerializerFor(subscribe);
        var garbled = (Subscribe)Sys.Serialization.Deserialize("""{"channel":"raw","subscriber":"not a path","bufferSize":10}"""u8.ToArray(),
            serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, subscribe));

        foreach (var nobody in new[] { Sys.DeadLetters, ActorRefs.Nobody, unresolvable, garbled.Subscriber })
        {
            Assert.Contains("no live actor", Ask<ChannelRejected>(bus.Channels, new Subscribe("raw", nobody)).Reason);
            Assert.Contains("no live actor", Ask<ChannelRejected>(bus.Channels, new Replay("raw", 0, 1, nobody)).Reason);
        }

        var ack = Ask<PublishAck>(bus.Channels, Publish("raw", "{}"u8.ToArray()));
        Assert.Equal((false, 0), (ack.Delivered, ack.DeliveredCount));
    }

    // Item 10.
    [Theory]
    [InlineData("a/b")]
    [InlineData("with space")]
    [InlineData("a-b")]
    public void A_dedup_namespace_that_cannot_name_an_actor_is_refused_with_its_key_before_the_bus_starts(string dedupNamespace)
    {
        var settings = DefaultSettings with { DedupNamespace = dedupNamespace };

        Assert.Contains(settings.Validate(), p => p.StartsWith("liminal.dedup.namespace"));
        var fromConfig = Assert.Throws<LiminalConfigurationException>(() => LiminalSettings.FromConfig(
            ConfigurationFactory.ParseString($"liminal.dedup.namespace = \"{dedupNamespace}\"")));
        Assert.Equal(["liminal.dedup.namespace"], fromConfig.Problems.Select(p => p.Split(':')[0]));
        var start = Assert.Throws<LiminalConfigurationException>(() => LiminalBus.Start(Sys, settings));
        Assert.Contains(start.Problems, p => p.StartsWith("liminal.dedup.namespace"));
    }

    [Fact]
    public void Max_payload_bytes_is_read_from_the_liminal_block_and_checked()
    {
        Assert.Equal(256 * 1024, LiminalSettings.FromConfig(ConfigurationFactory.Empty).MaxPayloadBytes);
        Assert.Equal(1024 * 1024, LiminalSettings.FromConfig(ConfigurationFactory.ParseString("liminal.max-payload-bytes = 1MiB")).MaxPayloadBytes);
        var error = Assert.Throws<LiminalConfigurationException>(() =>
            LiminalSettings.FromConfig(ConfigurationFactory.ParseString("liminal.max-payload-bytes = 1GiB")));
        Assert.Contains(error.Problems, p => p.StartsWith("liminal.max-payload-bytes"));
    }
}

namespace Liminal.Actors.Entities;

/// <summary>
/// Maps a message to the entity that owns it. Shaped like Akka.Cluster.Sharding's <c>IMessageExtractor</c>
/// so the same entities can run under a ShardRegion in cluster mode.
/// </summary>
public interface IEntityMessageExtractor
{
    /// <summary>The owning entity's id, or null when the message is not addressed to an entity.</summary>
    string? EntityId(object message);

    /// <summary>The message the entity receives (the same message unless it was wrapped).</summary>
    object EntityMessage(object message);
}

/**
 * The whole experiment as one resumable plan of stages (docs/PROTOCOL.md §Claims), writing the manifest the report reads.
 */
package dev.undo.reproduce;

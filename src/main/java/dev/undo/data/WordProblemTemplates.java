package dev.undo.data;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The word-problem templates and the word lists that fill them (docs/PROTOCOL.md, "Settings": about 20 training templates
 * and 10 held-out evaluation templates per operation). The held-out templates are phrased differently from the
 * training ones, so word-problem accuracy measures whether the model solves the operation rather than whether it
 * has memorised a sentence.
 *
 * <p>Placeholders: {@code {a}} and {@code {b}} are the operands (for division {@code a} is the dividend and
 * {@code b} the divisor, for subtraction {@code a >= b}); {@code {name}} and {@code {name2}} two different
 * names; {@code {place}} a place. {@code {obj:a}}, {@code {box:b}}, {@code {group:a}} are an object, container or
 * group noun in the number agreeing with {@code a} or {@code b}; {@code .s} and {@code .p} force singular and
 * plural. One problem uses one object, one container and one group throughout. {@code {a|row|rows}} writes the
 * operand followed by the agreeing form of a fixed noun.
 */
final class WordProblemTemplates {
  private WordProblemTemplates() {}

  static final List<String> NAMES =
      List.of(
          "Mia", "Noah", "Ava", "Liam", "Zoe", "Omar", "Lena", "Ravi", "Sofia", "Hugo", "Maya", "Theo", "Nina",
          "Kofi", "Ines", "Jonas", "Priya", "Sam", "Elena", "Felix");

  /** Singular and plural, separated by a bar. No coins: some templates count money in dollars. */
  static final List<String> OBJECTS =
      List.of(
          "apple|apples", "marble|marbles", "pencil|pencils", "book|books", "cookie|cookies",
          "sticker|stickers", "shell|shells", "card|cards", "orange|oranges", "button|buttons",
          "balloon|balloons", "candle|candles", "stamp|stamps", "toy car|toy cars", "egg|eggs",
          "flower|flowers", "ribbon|ribbons", "cupcake|cupcakes", "bead|beads", "lemon|lemons");

  static final List<String> CONTAINERS =
      List.of(
          "box|boxes", "bag|bags", "basket|baskets", "jar|jars", "crate|crates", "bucket|buckets",
          "tray|trays", "bowl|bowls", "chest|chests", "drawer|drawers", "envelope|envelopes", "tin|tins",
          "carton|cartons", "pouch|pouches", "sack|sacks", "case|cases");

  static final List<String> PLACES =
      List.of(
          "the market", "the library", "the park", "the school", "the bakery", "the garden", "the beach",
          "the museum", "the farm", "the station", "the harbor", "the zoo", "the fair", "the corner shop",
          "the playground", "the village hall");

  static final List<String> GROUPS =
      List.of(
          "team|teams", "class|classes", "club|clubs", "family|families", "table|tables", "crew|crews",
          "troop|troops", "choir|choirs", "band|bands", "group|groups", "committee|committees",
          "squad|squads", "patrol|patrols", "household|households", "cabin|cabins");

  static final Map<Op, List<String>> TRAINING = new EnumMap<>(Op.class);
  static final Map<Op, List<String>> HELD_OUT = new EnumMap<>(Op.class);

  static {
    TRAINING.put(
        Op.ADDITION,
        List.of(
            "{name} has {a} {obj:a} and gets {b} more at {place}. How many {obj.p} does {name} have now?",
            "There are {a} {obj:a} in a {box.s} and {b} {obj:b} in another {box.s}. How many {obj.p} are there"
                + " in total?",
            "{name} picked {a} {obj:a} in the morning and {b} {obj:b} in the afternoon. How many {obj.p} did"
                + " {name} pick altogether?",
            "{name} had {a} {obj:a}. {name2} gave {name} {b} more. How many {obj.p} does {name} have?",
            "A {group.s} collected {a} {obj:a} on Monday and {b} {obj:b} on Tuesday. How many {obj.p} did the"
                + " {group.s} collect?",
            "At {place} there were {a} {obj:a} on one shelf and {b} {obj:b} on another. How many {obj.p} were"
                + " on both shelves?",
            "{name} counts {a} {obj:a} and {name2} counts {b} {obj:b}. How many {obj.p} did they count"
                + " together?",
            "A {box.s} holds {a} {obj:a}. {name} adds {b} {obj:b} to it. How many {obj.p} are in the {box.s}"
                + " now?",
            "{name} bought {a} {obj:a} at {place} and {b} {obj:b} online. How many {obj.p} did {name} buy?",
            "{a} {obj:a} were sold before noon and {b} {obj:b} after noon at {place}. How many {obj.p} were"
                + " sold that day?",
            "How many {obj.p} is {a} {obj:a} plus {b} {obj:b}?",
            "In the first round {name} won {a} {obj:a}, and in the second round {name} won {b} {obj:b}. How"
                + " many {obj.p} did {name} win?",
            "One {group.s} brought {a} {obj:a} to {place} and another {group.s} brought {b} {obj:b}. How many"
                + " {obj.p} were brought in all?",
            "{name} found {a} {obj:a} at {place}, then found {b} more at home. How many {obj.p} did {name}"
                + " find?",
            "A {box.s} has {a} {obj:a}. A second {box.s} has {b} {obj:b}. If everything goes into one big"
                + " {box.s}, how many {obj.p} will it hold?",
            "{name} owned {a} {obj:a}. For a birthday, {name} received {b} {obj:b}. How many {obj.p} does"
                + " {name} own now?",
            "{name} and {name2} pooled their {obj.p}: {name} had {a} and {name2} had {b}. How many {obj.p} do"
                + " they have together?",
            "There were {a} {obj:a} at {place}. A delivery brought {b} more. How many {obj.p} are at {place}"
                + " now?",
            "{name} made {a} {obj:a} yesterday and {b} {obj:b} today. How many {obj.p} has {name} made in the"
                + " two days?",
            "A {group.s} needs {a} {obj:a} for one game and {b} {obj:b} for another. How many {obj.p} does the"
                + " {group.s} need?",
            "{name} put {a} {obj:a} on the table, and {name2} put down {b} {obj:b} next to them. How many"
                + " {obj.p} are on the table?"));
    HELD_OUT.put(
        Op.ADDITION,
        List.of(
            "{name} keeps {a} {obj:a} in a {box.s}. After a trip to {place}, {name} drops {b} more into it."
                + " What is the total number of {obj.p} in the {box.s}?",
            "Two {group.p} share a storeroom. The first stores {a} {obj:a} there and the second stores {b}"
                + " {obj:b}. How many {obj.p} are in the storeroom?",
            "On the way to {place}, {name} spotted {a} {obj:a}; on the way back, {name} spotted another {b}."
                + " Altogether, how many {obj.p} did {name} spot?",
            "{name2} lends {name} {b} {obj:b}. Before that, {name} already had {a} {obj:a}. How many {obj.p}"
                + " does {name} have at the moment?",
            "A shopkeeper at {place} unpacks {a} {obj:a} from one {box.s} and {b} {obj:b} from a second one."
                + " How many {obj.p} were unpacked?",
            "If {name} starts with {a} {obj:a} and is handed {b} extra, what is the new count of {obj.p}?",
            "Last week a {group.s} at {place} earned {a} {obj:a} as prizes, and this week it earned {b}"
                + " {obj:b}. What is the combined number of {obj.p} the {group.s} earned?",
            "{name} stacks {a} {obj:a} in one pile and {b} {obj:b} in a second pile, then merges the piles."
                + " How big is the merged pile?",
            "Counting the {obj.p} at {place}, {name} gets {a} in the front room and {b} in the back room. What"
                + " total should {name} write down?",
            "A {box.s} arrives with {a} {obj:a}, and a smaller {box.s} arrives with {b} {obj:b}. How many"
                + " {obj.p} arrived?",
            "{name} saved {a} {obj:a} in spring and added {b} {obj:b} to the collection in summer. What is the"
                + " size of the collection now?",
            "Add the {a} {obj:a} that {name} has to the {b} {obj:b} that {name2} has. What number do you get?"));

    TRAINING.put(
        Op.SUBTRACTION,
        List.of(
            "{name} had {a} {obj:a} and gave {b} to {name2}. How many {obj.p} does {name} have left?",
            "There were {a} {obj:a} in a {box.s}. {name} took out {b}. How many {obj.p} are still in the"
                + " {box.s}?",
            "{name} brought {a} {obj:a} to {place} and sold {b} of them. How many {obj.p} did {name} bring"
                + " home?",
            "A {group.s} had {a} {obj:a}. They used {b} {obj:b} during the day. How many {obj.p} remain?",
            "{name} has {a} {obj:a}. {name2} has {b} {obj:b}. How many more {obj.p} does {name} have than"
                + " {name2}?",
            "At {place} there were {a} {obj:a} on display. By evening, {b} had been sold. How many {obj.p}"
                + " were left on display?",
            "{name} needs {a} {obj:a} and already has {b}. How many more {obj.p} does {name} need?",
            "A {box.s} held {a} {obj:a}, but {b} fell out on the way to {place}. How many {obj.p} are in the"
                + " {box.s} now?",
            "{name} started the day with {a} {obj:a} and lost {b}. How many {obj.p} does {name} have at the"
                + " end of the day?",
            "Out of {a} {obj:a}, {b} are broken. How many {obj.p} are not broken?",
            "{name} collected {a} {obj:a} and gave {b} away to a {group.s}. How many {obj.p} did {name} keep?",
            "The shelf at {place} can hold {a} {obj:a}. It now holds {b}. How many more {obj.p} fit on the"
                + " shelf?",
            "{name} ordered {a} {obj:a}, but only {b} arrived. How many {obj.p} are still missing?",
            "A {group.s} started with {a} {obj:a} and handed out {b} at {place}. How many {obj.p} does the"
                + " {group.s} have now?",
            "{name} had {a} {obj:a} in a {box.s} and moved {b} of them into another {box.s}. How many {obj.p}"
                + " stayed in the first {box.s}?",
            "There are {a} {obj:a} at {place}. {name} takes {b} {obj:b} home. How many {obj.p} are still at"
                + " {place}?",
            "{name} counted {a} {obj:a}, then {name2} took {b}. How many {obj.p} are left for {name}?",
            "How many {obj.p} is {a} {obj:a} minus {b} {obj:b}?",
            "{name} promised {a} {obj:a} to a {group.s} and has delivered {b} so far. How many {obj.p} are"
                + " still to be delivered?",
            "A {box.s} of {a} {obj:a} was opened and {b} {obj:b} were taken out. How many {obj.p} are left in"
                + " the {box.s}?"));
    HELD_OUT.put(
        Op.SUBTRACTION,
        List.of(
            "{name} walks into {place} carrying {a} {obj:a} and walks out carrying {b}. How many {obj.p} did"
                + " {name} leave behind?",
            "A {group.s} had a stock of {a} {obj:a}. After a busy week the stock is down by {b}. What is the"
                + " stock now?",
            "If {name2} owns {b} {obj:b} and {name} owns {a} {obj:a}, by how many {obj.p} does {name} lead?",
            "{a} {obj:a} were packed into a {box.s} for {place}; {b} of them were removed at a check. What"
                + " number of {obj.p} reached {place}?",
            "Take {b} {obj:b} away from a pile of {a} {obj:a}. What is the size of the pile afterwards?",
            "{name} wants to hand out {a} {obj:a} and has handed out {b}. How many are still to hand out?",
            "The {box.s} on the counter at {place} started with {a} {obj:a}; customers took {b}. How many"
                + " {obj.p} does the {box.s} contain now?",
            "{name} and {name2} had {a} {obj:a} between them, and {name2} had {b} of them. How many belonged"
                + " to {name}?",
            "A list shows {a} {obj:a} in storage, but a recount finds {b} fewer. What does the recount show?",
            "From {a} {obj:a}, a {group.s} gives {b} to charity. What is left for the {group.s}?",
            "Of the {a} {obj:a} that {name} set out at {place}, {b} were taken by visitors. How many {obj.p}"
                + " remain there?",
            "Subtract the {b} {obj:b} that {name2} borrowed from the {a} {obj:a} that {name} owns. What is"
                + " left?"));

    TRAINING.put(
        Op.MULTIPLICATION,
        List.of(
            "{name} has {a} {box:a} with {b} {obj:b} in each {box.s}. How many {obj.p} does {name} have?",
            "There are {a} {group:a} at {place}, and each {group.s} has {b} {obj:b}. How many {obj.p} are"
                + " there in total?",
            "{name} buys {a} {box:a} of {obj.p} at {place}. Each {box.s} has {b} {obj:b}. How many {obj.p}"
                + " did {name} buy?",
            "Each of {a} {group:a} brings {b} {obj:b} to {place}. How many {obj.p} are brought?",
            "A shelf at {place} has {a|row|rows} with {b} {obj:b} in every row. How many {obj.p} are on the"
                + " shelf?",
            "{name} gives {b} {obj:b} to each of {a|friend|friends}. How many {obj.p} does {name} give away?",
            "Every day for {a|day|days}, {name} collects {b} {obj:b}. How many {obj.p} does {name} collect?",
            "A {group.s} fills {a} {box:a}, putting {b} {obj:b} in each one. How many {obj.p} did the"
                + " {group.s} pack?",
            "{name} has {b} {obj:b}. {name2} has {a} times as many. How many {obj.p} does {name2} have?",
            "There are {a} {box:a} at {place}. Each {box.s} contains {b} {obj:b}. How many {obj.p} are there?",
            "How many {obj.p} are in {a|set|sets} of {b} {obj:b}?",
            "{name} buys {a} {obj:a} at {place} for {b|dollar|dollars} each. How many dollars does {name}"
                + " spend?",
            "Each {obj.s} costs {b|dollar|dollars} at {place}. What do {a} {obj:a} cost, in dollars?",
            "{name} sets up {a|table|tables} at {place} and puts {b} {obj:b} on each table. How many {obj.p}"
                + " are on the tables?",
            "A {group.s} has {a|member|members}, and every member brings {b} {obj:b}. How many {obj.p} does"
                + " the {group.s} have?",
            "{name} stacks {a} {box:a}, and each {box.s} holds {b} {obj:b}. How many {obj.p} are in the"
                + " stack?",
            "In each of {a|week|weeks}, {name} saves {b} {obj:b}. How many {obj.p} has {name} saved?",
            "At {place}, {a} {group:a} each order {b} {obj:b}. How many {obj.p} are ordered in all?",
            "{name} makes {a|batch|batches} of {obj.p} with {b} in each batch. How many {obj.p} did {name}"
                + " make?",
            "A {box.s} holds {b} {obj:b}. How many {obj.p} do {a} such {box:a} hold?"));
    HELD_OUT.put(
        Op.MULTIPLICATION,
        List.of(
            "{name} lines up {a} {box:a} at {place}; there are {b} {obj:b} inside every one. What is the total"
                + " number of {obj.p}?",
            "Every {group.s} at {place} receives {b} {obj:b}, and there are {a} {group:a}. How many {obj.p}"
                + " are handed out?",
            "{name2} owns {a} times as many {obj.p} as {name}, who owns {b}. What is {name2}'s count?",
            "For {a|evening|evenings} in a row, {name} sorts {b} {obj:b}. How many {obj.p} get sorted?",
            "A cart carries {a} {box:a}, each loaded with {b} {obj:b}. Find the number of {obj.p} on the cart.",
            "If one {box.s} fits {b} {obj:b}, how many {obj.p} fit in {a} {box:a}?",
            "{name} hands {b} {obj:b} to each person in a line of {a|person|people}. How many {obj.p} does"
                + " {name} hand out?",
            "The price of one {obj.s} at {place} is {b|dollar|dollars}. How much do {a} of them cost, in"
                + " dollars?",
            "A display has {a|shelf|shelves} and {b} {obj:b} stand on each shelf. How many {obj.p} are on"
                + " display?",
            "{a} {group:a} each sent {b} {obj:b} to {place}. What is the total that arrived at {place}?",
            "{name} repeats a trick {a|time|times}, and each time it uses {b} {obj:b}. How many {obj.p} are"
                + " used overall?",
            "Each of {name}'s {a} {box:a} contains exactly {b} {obj:b}. How many {obj.p} does {name} have in"
                + " all the {box.p}?"));

    TRAINING.put(
        Op.DIVISION,
        List.of(
            "{name} has {a} {obj:a} and shares them equally among {b|friend|friends}. How many {obj.p} does"
                + " each friend get?",
            "{a} {obj:a} are packed into {box.p} with {b} in each {box.s}. How many {box.p} are needed?",
            "A {group.s} splits {a} {obj:a} evenly into {b} {box:b}. How many {obj.p} go in each {box.s}?",
            "There are {a} {obj:a} at {place} for {b} {group:b}. If each {group.s} gets the same number, how"
                + " many {obj.p} does each {group.s} get?",
            "{name} puts {a} {obj:a} into rows of {b}. How many rows are there?",
            "{name} spent {a|dollar|dollars} on {obj.p} that cost {b|dollar|dollars} each. How many {obj.p}"
                + " did {name} buy?",
            "{a} {obj:a} are divided equally among {b} {group:b}. How many {obj.p} does each {group.s}"
                + " receive?",
            "{name} collected {a} {obj:a} over {b|day|days}, the same number each day. How many {obj.p} did"
                + " {name} collect per day?",
            "{name} has {a} {obj:a} and wants to fill {b} {box:b} equally. How many {obj.p} go into each"
                + " {box.s}?",
            "At {place}, {a} {obj:a} are set out on {b|table|tables}, the same number on each. How many"
                + " {obj.p} are on each table?",
            "{name2} has {a} {obj:a}, which is {b} times as many as {name} has. How many {obj.p} does {name}"
                + " have?",
            "How many groups of {b} can be made from {a} {obj:a}?",
            "A {group.s} of {b|member|members} earned {a} {obj:a} and split them evenly. How many {obj.p} did"
                + " each member get?",
            "{name} sorts {a} {obj:a} into {box.p} holding {b} each. How many {box.p} does {name} fill?",
            "{a} {obj:a} are handed out at {place}, {b} to each visitor. How many visitors got {obj.p}?",
            "Over {b|week|weeks}, {name} used {a} {obj:a}, the same amount each week. How many {obj.p} did"
                + " {name} use each week?",
            "{a} {obj:a} fill {b} {box:b} equally. How many {obj.p} are in one {box.s}?",
            "{name} and {name2} pack {a} {obj:a} into {box.p} of {b}. How many {box.p} do they pack?",
            "{name} divides {a} {obj:a} into {b|equal pile|equal piles}. How many {obj.p} are in each pile?",
            "Each {box.s} holds {b} {obj:b}. How many {box.p} are needed for {a} {obj:a}?"));
    HELD_OUT.put(
        Op.DIVISION,
        List.of(
            "{name} lays out {a} {obj:a} in equal stacks of {b}. What is the number of stacks?",
            "A teacher at {place} divides {a} {obj:a} fairly among {b|pupil|pupils}. What does each pupil end"
                + " up with?",
            "{name} paid {a|dollar|dollars} for some {obj.p} priced at {b|dollar|dollars} apiece. What"
                + " quantity did {name} buy?",
            "It takes {b|trip|trips} to carry {a} {obj:a} if every trip carries the same load. How many"
                + " {obj.p} does one trip carry?",
            "If {a} {obj:a} are spread evenly across {b} {box:b}, what does each {box.s} end up holding?",
            "{name2} has {b} times as many {obj.p} as {name}. {name2} has {a}. What is {name}'s number of"
                + " {obj.p}?",
            "A {group.s} hands out {a} {obj:a} in bundles of {b}. How many bundles does the {group.s} hand"
                + " out?",
            "{b} {group:b} received {a} {obj:a} in total, with every {group.s} getting an equal share. What is"
                + " one share?",
            "Split {a} {obj:a} into {b} equal parts. How large is each part?",
            "{name} used {a} {obj:a} evenly over {b|month|months}. What was the monthly amount?",
            "At {place} a crate of {a} {obj:a} is unpacked onto {b|shelf|shelves} with an equal count on each."
                + " What goes on one shelf?",
            "Every {box.s} is filled with exactly {b} {obj:b}, and {a} {obj:a} were used. What number of"
                + " {box.p} got filled?"));
  }
}
